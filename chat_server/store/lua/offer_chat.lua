-- Offer a waiting chat to one counsellor, if it is still waiting, not offered to anyone, and
-- the counsellor is available with room (held chats + pending offers < capacity).
-- KEYS[1] chat hash, KEYS[2] the counsellor's chat set, KEYS[3] the counsellor's offer set,
-- KEYS[4] the counsellor's presence hash
-- ARGV[1] username, ARGV[2] capacity, ARGV[3] now ms, ARGV[4] index ttl s,
-- ARGV[5] staff channel, ARGV[6] the offer as JSON (published to the counsellor)
if redis.call('HGET', KEYS[1], 'state') ~= 'waiting' then return 'not_waiting' end
if redis.call('HEXISTS', KEYS[1], 'offer_to') == 1 then return 'offered_elsewhere' end
if redis.call('HGET', KEYS[4], 'presence') ~= 'available' then return 'not_available' end
if redis.call('SCARD', KEYS[2]) + redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[2]) then
  return 'at_capacity'
end
redis.call('HSET', KEYS[1], 'offer_to', ARGV[1], 'offer_ms', ARGV[3])
redis.call('SADD', KEYS[3], string.match(KEYS[1], 'chat:(.+)$'))
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 'ok'
