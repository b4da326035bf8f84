-- Set the TTL of every key of a chat (on resume, or shortened when the visitor goes away).
-- KEYS[1] chat hash, KEYS[2] chat stream.
-- ARGV[1] key prefix, ARGV[2] ttl s while waiting, ARGV[3] ttl s once active.
-- Returns the chat's state, or false when it no longer exists.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return false end
local ttl = tonumber(ARGV[2])
if state == 'active' then ttl = tonumber(ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
local tok = redis.call('HGET', KEYS[1], 'tok')
if tok then redis.call('EXPIRE', ARGV[1] .. 'tok:' .. tok, ttl) end
return state
