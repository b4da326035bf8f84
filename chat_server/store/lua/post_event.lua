-- Append one event to a chat's stream and nudge its listeners, atomically.
-- The stream id is "0-<seq>", so ids are the chat's dense message sequence.
-- KEYS[1] chat hash, KEYS[2] chat stream
-- ARGV[1] key prefix, ARGV[2] chat channel, ARGV[3] sender, ARGV[4] sender id (counsellor),
-- ARGV[5] kind, ARGV[6] text, ARGV[7] now ms, ARGV[8] ttl s, ARGV[9] stream max length,
-- ARGV[10] the sender's client id (a per-tab counter such as "c3", echoed so it can match)
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {0, 'chat_not_found'} end
if ARGV[3] == 'counsellor' then
  if state ~= 'active' then return {0, 'not_allowed_now'} end
  if redis.call('HGET', KEYS[1], 'counsellor') ~= ARGV[4] then return {0, 'not_your_chat'} end
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '0-' .. seq,
  'kind', ARGV[5], 'from', ARGV[3], 'text', ARGV[6], 'ts', ARGV[7], 'cid', ARGV[10])
local ttl = tonumber(ARGV[8])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
local tok = redis.call('HGET', KEYS[1], 'tok')
if tok then redis.call('EXPIRE', ARGV[1] .. 'tok:' .. tok, ttl) end
redis.call('PUBLISH', ARGV[2], cjson.encode({
  seq = seq, kind = ARGV[5], from = ARGV[3], text = ARGV[6], ts = tonumber(ARGV[7]),
  cid = ARGV[10]}))
return {seq, 'ok'}
