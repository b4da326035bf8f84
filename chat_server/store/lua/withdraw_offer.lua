-- Withdraw a pending offer (it timed out, or the counsellor declined): the chat is free to be
-- offered to the next counsellor, and remembers who passed on it.
-- KEYS[1] chat hash, KEYS[2] the counsellor's offer set, KEYS[3] the chat's exclusion set
-- ARGV[1] username, ARGV[2] offer time ms ('' = any), ARGV[3] chat ttl s, ARGV[4] queue channel
if redis.call('HGET', KEYS[1], 'offer_to') ~= ARGV[1] then
  redis.call('SREM', KEYS[2], string.match(KEYS[1], 'chat:(.+)$'))
  return 'not_offered'
end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'offer_ms') ~= ARGV[2] then
  return 'not_offered'
end
redis.call('HDEL', KEYS[1], 'offer_to', 'offer_ms')
redis.call('SREM', KEYS[2], string.match(KEYS[1], 'chat:(.+)$'))
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
redis.call('PUBLISH', ARGV[4], 'withdrawn')
return 'ok'
