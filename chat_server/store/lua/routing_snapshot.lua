-- Everything one routing round needs, in one round trip: the queue's head window and everyone
-- on duty; drops expired queue entries within the window.
-- KEYS[1] queue zset, KEYS[2] on-duty zset. ARGV[1] key prefix, ARGV[2] the window: how many
-- queue entries without a live offer to read from the head.
-- Returns {chats, counsellors, offers, skipped, more}: chats as flat groups of 9 (id,
-- enqueued_ms, urgent, topic, language, offer_to, offer_ms, alias, excluded usernames joined by
-- ','), counsellors as flat groups of 6 (username, presence, idle_since_ms, auto_accept, held
-- chats (0 unless available), pending offers), offers as flat groups of 3 (chat id, username,
-- offer_ms: every live offer to someone on duty, wherever its chat is), skipped as id, score
-- pairs (the offered chats among the head, not read), more 1 when the queue goes on beyond
-- what was returned.
-- A chat whose hash is gone lapsed (its visitor left while waiting): the run whose ZREM removes
-- it adds it to the lapsed set for the queue watch to count (see queue_snapshot.lua).
local LAPSED_TTL_S = 3600  -- the same in queue_snapshot.lua and claim_chat.lua
local prefix = ARGV[1]
local lapsed_key = prefix .. 'queue:lapsed'
local window = tonumber(ARGV[2])
-- Held chats and offers that expired or moved on no longer count (self-healing load).
local offers = {}
local function live_count(set_key, field, user, collect)
  local live = 0
  for _, id in ipairs(redis.call('SMEMBERS', set_key)) do
    local h = redis.call('HMGET', prefix .. 'chat:' .. id, field, 'offer_ms')
    if h[1] ~= user then
      redis.call('SREM', set_key, id)
    else
      live = live + 1
      if collect then
        table.insert(offers, id)
        table.insert(offers, user)
        table.insert(offers, h[2] or '0')
      end
    end
  end
  return tostring(live)
end
local staff = {}
for _, user in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local p = redis.call('HMGET', prefix .. 'staff:' .. user .. ':presence', 'presence',
    'idle_since_ms', 'auto_accept')
  if not p[1] then
    redis.call('ZREM', KEYS[2], user)
  else
    table.insert(staff, user)
    table.insert(staff, p[1])
    table.insert(staff, p[2] or '0')
    table.insert(staff, p[3] or '0')
    -- Only an available counsellor's held chats matter to a round (nobody else gets chats).
    table.insert(staff, p[1] == 'available' and live_count(prefix .. 'staff:' .. user ..
      ':chats', 'counsellor', user, false) or '0')
    table.insert(staff, live_count(prefix .. 'staff:' .. user .. ':offers', 'offer_to', user,
      true))
  end
end
-- The window counts the chats without a live offer: an offered chat is skipped by the round,
-- so it is returned as its id and score only (its offer is in offers), unread.
local offered = {}
for i = 1, #offers, 3 do offered[offers[i]] = true end
local chats, skipped = {}, {}
local ids = redis.call('ZRANGE', KEYS[1], 0, window + #offers / 3 - 1, 'WITHSCORES')
local kept, read = #ids / 2, 0
for i = 1, #ids, 2 do
  local id = ids[i]
  if offered[id] then
    table.insert(skipped, id)
    table.insert(skipped, ids[i + 1])
  elseif read >= window then
    kept = kept - 1  -- beyond the window: left for a wider one
  else
    read = read + 1
    local ck = prefix .. 'chat:' .. id
    local f = redis.call('HMGET', ck, 'state', 'enqueued_ms', 'urgent', 'topic', 'language',
      'offer_to', 'offer_ms', 'alias')
    if not f[1] then
      kept = kept - 1
      if redis.call('ZREM', KEYS[1], id) == 1 then
        redis.call('SADD', lapsed_key, id)
        redis.call('EXPIRE', lapsed_key, LAPSED_TTL_S)
      end
    elseif f[1] == 'waiting' then
      table.insert(chats, id)
      for j = 2, 8 do table.insert(chats, f[j] or '') end
      table.insert(chats, table.concat(redis.call('SMEMBERS', ck .. ':excl'), ','))
    end
  end
end
local more = redis.call('ZCARD', KEYS[1]) > kept and 1 or 0
return {chats, staff, offers, skipped, more}
