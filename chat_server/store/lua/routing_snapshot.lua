-- Everything one routing round needs, in one round trip; drops expired queue entries.
-- KEYS[1] queue zset, KEYS[2] on-duty zset. ARGV[1] key prefix.
-- Returns {chats, counsellors}: chats as flat groups of 9 (id, enqueued_ms, urgent, topic,
-- language, offer_to, offer_ms, alias, excluded usernames joined by ','), counsellors as flat groups
-- of 6 (username, presence, idle_since_ms, auto_accept, held chats, pending offers).
-- A chat whose hash is gone lapsed (its visitor left while waiting): the run whose ZREM removes
-- it adds it to the lapsed set for the queue watch to count (see queue_snapshot.lua).
local LAPSED_TTL_S = 3600  -- the same in queue_snapshot.lua and claim_chat.lua
local prefix = ARGV[1]
local lapsed_key = prefix .. 'queue:lapsed'
local chats = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, 999)) do
  local ck = prefix .. 'chat:' .. id
  local f = redis.call('HMGET', ck, 'state', 'enqueued_ms', 'urgent', 'topic', 'language',
    'offer_to', 'offer_ms', 'alias')
  if not f[1] then
    if redis.call('ZREM', KEYS[1], id) == 1 then
      redis.call('SADD', lapsed_key, id)
      redis.call('EXPIRE', lapsed_key, LAPSED_TTL_S)
    end
  elseif f[1] == 'waiting' then
    table.insert(chats, id)
    for i = 2, 8 do table.insert(chats, f[i] or '') end
    table.insert(chats, table.concat(redis.call('SMEMBERS', ck .. ':excl'), ','))
  end
end
-- Held chats and offers that expired or moved on no longer count (self-healing load).
local function live_count(set_key, field, user)
  for _, id in ipairs(redis.call('SMEMBERS', set_key)) do
    if redis.call('HGET', prefix .. 'chat:' .. id, field) ~= user then
      redis.call('SREM', set_key, id)
    end
  end
  return tostring(redis.call('SCARD', set_key))
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
    table.insert(staff, live_count(prefix .. 'staff:' .. user .. ':chats', 'counsellor', user))
    table.insert(staff, live_count(prefix .. 'staff:' .. user .. ':offers', 'offer_to', user))
  end
end
return {chats, staff}
