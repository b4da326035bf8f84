-- The waiting chats in serving order with what the console shows, dropping expired ones.
-- KEYS[1] queue zset, KEYS[2] lapsed set. ARGV[1] key prefix, ARGV[2] how many at most,
-- ARGV[3] '1' to drain the lapsed set: return its ids and delete it, in this one step.
-- An entry whose chat hash is gone is a visitor who left while waiting: the one script run whose
-- ZREM removes it (this one, routing_snapshot or claim_chat) adds the id to the lapsed set, so a
-- queue watch counts it once. An entry in another state is dropped, not lapsed.
-- Returns {flat, lapsed}: flat is id, enqueued_ms, urgent, topic, language, alias, gone_ms,
-- ... with the total waiting last; lapsed the drained ids (empty unless ARGV[3] is '1').
local LAPSED_TTL_S = 3600  -- the same in routing_snapshot.lua and claim_chat.lua
local out = {}
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local total = 0
for _, id in ipairs(ids) do
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
    total = total + 1
    if total <= tonumber(ARGV[2]) then
      table.insert(out, id)
      for i = 2, 7 do table.insert(out, f[i] or '') end
    end
  end
end
table.insert(out, tostring(total))
local lapsed = {}
if ARGV[3] == '1' then
  lapsed = redis.call('SMEMBERS', KEYS[2])
  redis.call('DEL', KEYS[2])
end
return {out, lapsed}
