-- Take a waiting chat for a counsellor. Atomic, so two counsellors (or two server instances)
-- can never take the same chat, and a counsellor never goes over capacity.
-- KEYS[1] queue zset, KEYS[2] the counsellor's chat set
-- ARGV[1] key prefix, ARGV[2] username, ARGV[3] capacity, ARGV[4] now ms, ARGV[5] chat ttl s,
-- ARGV[6] chat id ('' = the first waiting chat), ARGV[7] index ttl s, ARGV[8] queue channel
local prefix = ARGV[1]
-- Self-healing load: forget chats that expired or moved on.
for _, held in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('HGET', prefix .. 'chat:' .. held, 'counsellor') ~= ARGV[2] then
    redis.call('SREM', KEYS[2], held)
  end
end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[3]) then return {'', 'at_capacity'} end
local ids
if ARGV[6] ~= '' then ids = {ARGV[6]} else ids = redis.call('ZRANGE', KEYS[1], 0, 99) end
for _, id in ipairs(ids) do
  local ck = prefix .. 'chat:' .. id
  local state = redis.call('HGET', ck, 'state')
  if state == 'waiting' then
    redis.call('HSET', ck, 'state', 'active', 'counsellor', ARGV[2], 'answered_ms', ARGV[4])
    redis.call('ZREM', KEYS[1], id)
    redis.call('SADD', KEYS[2], id)
    redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
    local seq = redis.call('HINCRBY', ck, 'seq', 1)
    local sk = ck .. ':log'
    redis.call('XADD', sk, '0-' .. seq, 'kind', 'joined', 'from', 'system', 'text', '',
      'ts', ARGV[4])
    local ttl = tonumber(ARGV[5])
    redis.call('EXPIRE', ck, ttl)
    redis.call('EXPIRE', sk, ttl)
    local tok = redis.call('HGET', ck, 'tok')
    if tok then redis.call('EXPIRE', prefix .. 'tok:' .. tok, ttl) end
    redis.call('PUBLISH', prefix .. 'ch:chat:' .. id, cjson.encode({
      seq = seq, kind = 'joined', from = 'system', text = '', ts = tonumber(ARGV[4])}))
    redis.call('PUBLISH', ARGV[8], 'claimed')
    return {id, 'ok'}
  elseif not state then
    redis.call('ZREM', KEYS[1], id)
    if ARGV[6] ~= '' then return {'', 'chat_not_found'} end
  elseif ARGV[6] ~= '' then
    return {'', 'not_allowed_now'}
  end
end
return {'', 'queue_empty'}
