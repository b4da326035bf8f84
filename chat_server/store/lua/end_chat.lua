-- End a chat: one last nudge to every listener, then every key of the chat is deleted at once.
-- KEYS[1] chat hash, KEYS[2] chat stream, KEYS[3] queue zset
-- ARGV[1] key prefix, ARGV[2] chat id, ARGV[3] ended by (visitor|counsellor|system),
-- ARGV[4] counsellor username (when by counsellor), ARGV[5] reason, ARGV[6] now ms,
-- ARGV[7] queue channel
local info = redis.call('HMGET', KEYS[1], 'state', 'counsellor', 'tok', 'seq', 'enqueued_ms',
  'answered_ms', 'topic', 'language', 'urgent', 'offer_to')
if not info[1] then return {'chat_not_found'} end
if ARGV[3] == 'counsellor' and info[2] ~= ARGV[4] then return {'not_your_chat'} end
local seq = (tonumber(info[4]) or 0) + 1
redis.call('PUBLISH', ARGV[1] .. 'ch:chat:' .. ARGV[2], cjson.encode({
  seq = seq, kind = 'ended', from = ARGV[3], text = ARGV[5], ts = tonumber(ARGV[6])}))
redis.call('DEL', KEYS[1], KEYS[2], ARGV[1] .. 'chat:' .. ARGV[2] .. ':notes',
  ARGV[1] .. 'chat:' .. ARGV[2] .. ':staff', ARGV[1] .. 'chat:' .. ARGV[2] .. ':excl',
  ARGV[1] .. 'chat:' .. ARGV[2] .. ':monitors')
if info[10] then redis.call('SREM', ARGV[1] .. 'staff:' .. info[10] .. ':offers', ARGV[2]) end
if info[3] then redis.call('DEL', ARGV[1] .. 'tok:' .. info[3]) end
-- A pending warm-transfer consult goes with the chat; both consoles drop it.
local consult = ARGV[1] .. 'chat:' .. ARGV[2] .. ':consult'
local asked = redis.call('HMGET', consult, 'from', 'to')
if asked[1] then
  redis.call('DEL', consult)
  redis.call('ZREM', ARGV[1] .. 'consults', ARGV[2])
  redis.call('PUBLISH', ARGV[1] .. 'ch:consult', cjson.encode({users = {asked[1], asked[2]},
    frame = {type = 'consult_withdrawn', chat_id = ARGV[2], reason = 'chat_ended'}}))
end
redis.call('ZREM', KEYS[3], ARGV[2])
if info[2] then redis.call('SREM', ARGV[1] .. 'staff:' .. info[2] .. ':chats', ARGV[2]) end
redis.call('PUBLISH', ARGV[7], 'ended')
return {'ok', info[1], info[2] or '', info[5] or '', info[6] or '', info[7] or '',
  info[8] or '', info[9] or ''}
