-- Set the TTL of every key of a chat (on resume, or shortened when the visitor goes away).
-- KEYS[1] chat hash, KEYS[2] chat stream.
-- ARGV[1] key prefix, ARGV[2] ttl s while waiting, ARGV[3] ttl s once active,
-- ARGV[4] when the visitor's connection went (ms), or '0' when they are (back) online: a
-- waiting chat that then lapses counts its wait up to that moment, not up to its expiry.
-- Returns the chat's state, or false when it no longer exists.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return false end
local ttl = tonumber(ARGV[2])
if state == 'active' then ttl = tonumber(ARGV[3]) end
if ARGV[4] ~= '0' then
  redis.call('HSET', KEYS[1], 'gone_ms', ARGV[4])
  redis.call('HDEL', KEYS[1], 'ttl_at')  -- the next message renews the TTLs (post_event.lua)
else
  redis.call('HDEL', KEYS[1], 'gone_ms', 'ttl_at')
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
local tok = redis.call('HGET', KEYS[1], 'tok')
if tok then redis.call('EXPIRE', ARGV[1] .. 'tok:' .. tok, ttl) end
return state
