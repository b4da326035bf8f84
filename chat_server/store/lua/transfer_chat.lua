-- Move an active chat, with its whole conversation, to another counsellor or back to the queue.
-- KEYS[1] chat hash, KEYS[2] chat stream, KEYS[3] the holder's chat set, KEYS[4] queue zset,
-- KEYS[5] the chat's exclusion set, KEYS[6] the target's chat set ('' target: unused),
-- KEYS[7] the target's offer set, KEYS[8] the target's presence hash,
-- KEYS[9] the chat's consult hash, KEYS[10] the pending-consults zset
-- ARGV[1] key prefix, ARGV[2] chat id, ARGV[3] holder, ARGV[4] target ('' = the queue),
-- ARGV[5] target capacity, ARGV[6] reason code, ARGV[7] now ms, ARGV[8] chat ttl s,
-- ARGV[9] index ttl s, ARGV[10] queue channel, ARGV[11] queue score,
-- ARGV[12] '1': a warm transfer (the consult from holder to target must still be pending)
-- The private note (chat:<id>:notes) is the chat's, so it moves with the chat as it is.
local consult = redis.call('HMGET', KEYS[9], 'from', 'to', 'expires_ms')
if ARGV[12] == '1' then
  if consult[1] ~= ARGV[3] or consult[2] ~= ARGV[4]
    or tonumber(consult[3]) <= tonumber(ARGV[7]) then return {0, 'consult_gone'} end
elseif consult[1] then return {0, 'consult_pending'} end
if not redis.call('HGET', KEYS[1], 'state') then return {0, 'chat_not_found'} end
if redis.call('HGET', KEYS[1], 'counsellor') ~= ARGV[3] then return {0, 'not_your_chat'} end
if ARGV[4] == ARGV[3] then return {0, 'invalid_field'} end
if ARGV[4] ~= '' then
  if redis.call('HGET', KEYS[8], 'presence') ~= 'available' then return {0, 'target_unavailable'} end
  if redis.call('SCARD', KEYS[6]) + redis.call('SCARD', KEYS[7]) >= tonumber(ARGV[5]) then
    return {0, 'target_at_capacity'}
  end
end
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[5], ARGV[3])
local ttl = tonumber(ARGV[8])
redis.call('EXPIRE', KEYS[5], ttl)
local state
if ARGV[4] == '' then
  state = 'waiting'
  redis.call('HSET', KEYS[1], 'state', 'waiting')
  redis.call('HDEL', KEYS[1], 'counsellor', 'answered_ms', 'offer_to', 'offer_ms')
  redis.call('ZADD', KEYS[4], ARGV[11], ARGV[2])
  redis.call('EXPIRE', KEYS[4], tonumber(ARGV[9]))
else
  state = 'active'
  redis.call('HSET', KEYS[1], 'counsellor', ARGV[4])
  redis.call('SADD', KEYS[6], ARGV[2])
  redis.call('EXPIRE', KEYS[6], tonumber(ARGV[9]))
end
if ARGV[12] == '1' then
  redis.call('DEL', KEYS[9])
  redis.call('ZREM', KEYS[10], ARGV[2])
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], '0-' .. seq, 'kind', 'transferred', 'from', 'system',
  'text', ARGV[6], 'ts', ARGV[7], 'state', state)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
local tok = redis.call('HGET', KEYS[1], 'tok')
if tok then redis.call('EXPIRE', ARGV[1] .. 'tok:' .. tok, ttl) end
redis.call('PUBLISH', ARGV[1] .. 'ch:chat:' .. ARGV[2], cjson.encode({
  seq = seq, kind = 'transferred', from = 'system', text = ARGV[6], ts = tonumber(ARGV[7]),
  state = state}))
redis.call('PUBLISH', ARGV[10], 'transferred')
return {seq, 'ok'}
