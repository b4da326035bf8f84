-- The waiting chats in serving order with what the console shows, dropping expired ones.
-- KEYS[1] queue zset. ARGV[1] key prefix, ARGV[2] how many at most.
-- Returns a flat list: id, enqueued_ms, urgent, topic, language, alias, ... and the total last.
local out = {}
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local total = 0
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[1] .. 'chat:' .. id, 'state', 'enqueued_ms', 'urgent',
    'topic', 'language', 'alias')
  if not f[1] or f[1] ~= 'waiting' then
    redis.call('ZREM', KEYS[1], id)
  else
    total = total + 1
    if total <= tonumber(ARGV[2]) then
      table.insert(out, id)
      for i = 2, 6 do table.insert(out, f[i] or '') end
    end
  end
end
table.insert(out, tostring(total))
return out
