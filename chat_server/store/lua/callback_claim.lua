-- Lock a request for one counsellor, only while one of its windows is open. The lock expires
-- by itself (a crashed console does not hold it for ever) and never outlives the request.
-- KEYS[1] request hash, KEYS[2] its lock
-- ARGV[1] username, ARGV[2] lock ttl ms, ARGV[3] now (epoch s)
-- Returns {'ok', field, value, ...} (the whole hash), {'gone'}, {'not_due'} or {'taken'}.
local left_ms = redis.call('PTTL', KEYS[1])
if left_ms < 0 then return {'gone'} end
local now = tonumber(ARGV[3])
local due = false
for s, e in string.gmatch(redis.call('HGET', KEYS[1], 'windows') or '', '(%d+):(%d+)') do
  if tonumber(s) <= now and now < tonumber(e) then due = true end
end
if not due then return {'not_due'} end
local lock_ms = math.max(1, math.min(tonumber(ARGV[2]), left_ms))
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', lock_ms) then
  if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {'taken'} end
  redis.call('PEXPIRE', KEYS[2], lock_ms)  -- the holder claims again (a reloaded page)
end
local reply = {'ok'}
for _, item in ipairs(redis.call('HGETALL', KEYS[1])) do reply[#reply + 1] = item end
return reply
