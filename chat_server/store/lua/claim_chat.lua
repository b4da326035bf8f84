-- Take a waiting chat for a counsellor (accepting an offer, an auto-assignment, or picking it
-- from the queue). Atomic, so two counsellors (or two server instances) can never take the
-- same chat, and a counsellor never goes over capacity (held chats + pending offers).
-- KEYS[1] queue zset, KEYS[2] the counsellor's chat set, KEYS[3] the counsellor's offer set
-- ARGV[1] key prefix, ARGV[2] username, ARGV[3] capacity, ARGV[4] now ms, ARGV[5] chat ttl s,
-- ARGV[6] chat id ('' = the first waiting chat). A chat picked while it is offered to someone
-- else is theirs no more: their offer is withdrawn and they are told.
-- ARGV[7] index ttl s, ARGV[8] queue channel
local prefix = ARGV[1]
local me = ARGV[2]
-- A queued chat whose hash is gone lapsed (its visitor left while waiting): the run whose ZREM
-- removes it adds it to the lapsed set for the queue watch to count (see queue_snapshot.lua).
local LAPSED_TTL_S = 3600  -- the same in queue_snapshot.lua and routing_snapshot.lua
local function drop_lapsed(id)
  if redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('SADD', prefix .. 'queue:lapsed', id)
    redis.call('EXPIRE', prefix .. 'queue:lapsed', LAPSED_TTL_S)
  end
end
-- Self-healing load: forget chats and offers that expired or moved on.
for _, held in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('HGET', prefix .. 'chat:' .. held, 'counsellor') ~= me then
    redis.call('SREM', KEYS[2], held)
  end
end
for _, offered in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('HGET', prefix .. 'chat:' .. offered, 'offer_to') ~= me then
    redis.call('SREM', KEYS[3], offered)
  end
end
local function take(id, ck)
  local offer_to = redis.call('HGET', ck, 'offer_to')
  local offered_to_me = offer_to == me
  local load = redis.call('SCARD', KEYS[2]) + redis.call('SCARD', KEYS[3])
  if offered_to_me then load = load - 1 end
  if load >= tonumber(ARGV[3]) then return {'', 'at_capacity'} end
  redis.call('HSET', ck, 'state', 'active', 'counsellor', me, 'answered_ms', ARGV[4])
  redis.call('HDEL', ck, 'offer_to', 'offer_ms')
  redis.call('SREM', KEYS[3], id)
  if offer_to and not offered_to_me then
    redis.call('SREM', prefix .. 'staff:' .. offer_to .. ':offers', id)
    redis.call('PUBLISH', prefix .. 'ch:staff:' .. offer_to, cjson.encode({
      kind = 'offer_withdrawn', chat_id = id, reason = 'taken'}))
  end
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
end
if ARGV[6] ~= '' then
  local ck = prefix .. 'chat:' .. ARGV[6]
  local state = redis.call('HGET', ck, 'state')
  if not state then
    drop_lapsed(ARGV[6])
    return {'', 'chat_not_found'}
  end
  if state ~= 'waiting' then return {'', 'not_allowed_now'} end
  return take(ARGV[6], ck)
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, 199)) do
  local ck = prefix .. 'chat:' .. id
  local state = redis.call('HGET', ck, 'state')
  if not state then
    drop_lapsed(id)
  elseif state == 'waiting' then
    return take(id, ck)
  end
end
return {'', 'queue_empty'}
