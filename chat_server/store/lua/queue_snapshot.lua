-- The waiting chats in serving order: the head with what the console shows, the rest as ids.
-- KEYS[1] queue zset, KEYS[2] lapsed set. ARGV[1] key prefix, ARGV[2] how many at most,
-- ARGV[3] '1' to drain the lapsed set: return its ids and delete it, in this one step,
-- ARGV[4] how many waiting chats (from the head) to read and return with their fields,
-- ARGV[5] '1' to check every entry (the periodic sweep), else only the head's.
-- An entry whose chat hash is gone is a visitor who left while waiting: the one script run whose
-- ZREM removes it (this one, routing_snapshot or claim_chat) adds the id to the lapsed set, so a
-- queue watch counts it once. An entry in another state is dropped, not lapsed. Entries after
-- the head are not read unless ARGV[5] is '1': one that lapsed stays until the next sweep.
-- Returns {rows, tail, total, lapsed}: rows is id, enqueued_ms, urgent, topic, language, alias,
-- gone_ms, ... for the head; tail is id, score, ... for the entries after it (up to ARGV[2] in
-- all); total the entries left in the queue; lapsed the drained ids (empty unless ARGV[3]).
local LAPSED_TTL_S = 3600  -- the same in routing_snapshot.lua and claim_chat.lua
local limit, head = tonumber(ARGV[2]), tonumber(ARGV[4])
local check_all = ARGV[5] == '1'
local rows, tail = {}, {}
local shown = 0
local entries = redis.call('ZRANGE', KEYS[1], 0, check_all and -1 or limit - 1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local id = entries[i]
  if check_all or shown < head then
    local f = redis.call('HMGET', ARGV[1] .. 'chat:' .. id, 'state', 'enqueued_ms', 'urgent',
      'topic', 'language', 'alias', 'gone_ms')
    if not f[1] then
      if redis.call('ZREM', KEYS[1], id) == 1 then
        redis.call('SADD', KEYS[2], id)
        redis.call('EXPIRE', KEYS[2], LAPSED_TTL_S)
      end
    elseif f[1] ~= 'waiting' then
      redis.call('ZREM', KEYS[1], id)
    else
      shown = shown + 1
      if shown <= head and shown <= limit then
        table.insert(rows, id)
        for j = 2, 7 do table.insert(rows, f[j] or '') end
      elseif shown <= limit then
        table.insert(tail, id)
        table.insert(tail, entries[i + 1])
      end
    end
  elseif shown + #tail / 2 < limit then
    table.insert(tail, id)
    table.insert(tail, entries[i + 1])
  end
end
local lapsed = {}
if ARGV[3] == '1' then
  lapsed = redis.call('SMEMBERS', KEYS[2])
  redis.call('DEL', KEYS[2])
end
return {rows, tail, redis.call('ZCARD', KEYS[1]), lapsed}
