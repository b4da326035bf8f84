-- What the lock holder does with a claimed request: 'final' deletes every key of it at once,
-- 'retry' releases it for a later window with one more attempt, 'release' only unlocks it.
-- KEYS[1] request hash, KEYS[2] its lock, KEYS[3] work-list index, KEYS[4] today's counts
-- ARGV[1] username, ARGV[2] mode, ARGV[3] attempts the caller decided on (must be current + 1
-- unless mode is 'release'), ARGV[4] now (epoch s), ARGV[5] new index score,
-- ARGV[6] counter to bump ('' for none), ARGV[7] counts ttl s, ARGV[8] request id,
-- ARGV[9] status-code key prefix, ARGV[10] number key prefix, ARGV[11] the windows left for
-- a retry (the window just tried is dropped: someone else may have noticed the phone ringing)
-- Returns 'ok', 'gone', 'not_holder' or 'conflict' (someone recorded an attempt meanwhile).
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 'not_holder' end
local mode = ARGV[2]
local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0')
if mode ~= 'release' and attempts + 1 ~= tonumber(ARGV[3]) then return 'conflict' end
if mode == 'final' then
  local code_h = redis.call('HGET', KEYS[1], 'code_h')
  local num_h = redis.call('HGET', KEYS[1], 'num_h')
  redis.call('DEL', KEYS[1], KEYS[2])
  if code_h then redis.call('DEL', ARGV[9] .. code_h) end
  if num_h then redis.call('SREM', ARGV[10] .. num_h, ARGV[8]) end
  redis.call('ZREM', KEYS[3], ARGV[8])
elseif mode == 'retry' then
  redis.call('HSET', KEYS[1], 'attempts', ARGV[3], 'last_attempt_s', ARGV[4], 'windows', ARGV[11])
  redis.call('DEL', KEYS[2])
  redis.call('ZADD', KEYS[3], tonumber(ARGV[5]), ARGV[8])
else
  redis.call('DEL', KEYS[2])
end
if ARGV[6] ~= '' then
  redis.call('HINCRBY', KEYS[4], ARGV[6], 1)
  redis.call('EXPIRE', KEYS[4], tonumber(ARGV[7]))
end
return 'ok'
