-- Count a chat's late outcome once, across every instance: the caller that finds the pending
-- hash counts and deletes it in this one step, so any later caller finds nothing.
-- KEYS[1] pending zset, KEYS[2] the chat's pending hash
-- ARGV[1] chat id, ARGV[2] the counsellor who may settle it ('' = anyone: the expiry sweep),
-- ARGV[3] day-hash key prefix, ARGV[4] day-hash TTL s, ARGV[5] nudge channel,
-- ARGV[6] nudge payload, ARGV[7..] counter field / increment pairs
local pending = redis.call('HMGET', KEYS[2], 'counsellor', 'day')
if not pending[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])  -- settled already, or its hash expired: tidy up
  return {'not_found'}
end
if ARGV[2] ~= '' and pending[1] ~= ARGV[2] then return {'not_your_chat'} end
local day = ARGV[3] .. pending[2]
for i = 7, #ARGV, 2 do redis.call('HINCRBY', day, ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', day, ARGV[4])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return {'ok', pending[2]}
