-- Store a new callback request, its status-code key, its duplicate-number entry and its place
-- in the work list: all at once, all with a TTL from the first moment.
-- KEYS[1] request hash, KEYS[2] status-code key, KEYS[3] number set, KEYS[4] work-list index,
-- KEYS[5] today's counts hash
-- ARGV[1] ttl s, ARGV[2] request id, ARGV[3] index score (start of the first window, epoch s),
-- ARGV[4] windows "start:end,...", ARGV[5] request key prefix, ARGV[6] counts ttl s,
-- ARGV[7..] field, value pairs of the request hash
-- Returns 'ok', 'code_taken' (draw another code) or 'duplicate'.
local ttl = tonumber(ARGV[1])
local id = ARGV[2]

local function spans(text)
  local out = {}
  for s, e in string.gmatch(text, '(%d+):(%d+)') do out[#out + 1] = {tonumber(s), tonumber(e)} end
  return out
end

-- Shared index keys live as long as their longest-lived member (Redis 6.2 has no EXPIRE GT).
local function extend(key)
  if redis.call('TTL', key) < ttl then redis.call('EXPIRE', key, ttl) end
end

if redis.call('EXISTS', KEYS[2]) == 1 then return 'code_taken' end
local wanted = spans(ARGV[4])
for _, other in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local theirs = redis.call('HGET', ARGV[5] .. other, 'windows')
  if not theirs then
    redis.call('SREM', KEYS[3], other)  -- that request expired; forget it
  else
    for _, a in ipairs(spans(theirs)) do
      for _, b in ipairs(wanted) do
        if a[1] < b[2] and b[1] < a[2] then return 'duplicate' end
      end
    end
  end
end
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], id, 'EX', ttl)
redis.call('SADD', KEYS[3], id)
extend(KEYS[3])
redis.call('ZADD', KEYS[4], tonumber(ARGV[3]), id)
extend(KEYS[4])
redis.call('HINCRBY', KEYS[5], 'requested', 1)
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[6]))
return 'ok'
