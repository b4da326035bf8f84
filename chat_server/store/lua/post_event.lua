-- Append one event to a chat's stream and nudge its listeners, atomically.
-- The stream id is "0-<seq>", so ids are the chat's dense message sequence.
-- KEYS[1] chat hash, KEYS[2] chat stream
-- ARGV[1] key prefix, ARGV[2] chat channel, ARGV[3] sender, ARGV[4] sender id (counsellor),
-- ARGV[5] kind, ARGV[6] text, ARGV[7] now ms, ARGV[8] ttl s, ARGV[9] stream max length,
-- ARGV[10] the sender's client id (a per-tab counter such as "c3", echoed so it can match)
--
-- The TTLs (hash, stream, token) are renewed at most once a minute, not on every message:
-- 'ttl_at' records the last renewal here, and touch_chat.lua clears it whenever it sets a
-- TTL of its own, so the next message renews again. A chat thus lapses between ttl - 60 s
-- and ttl after its last message, and a busy chat costs Redis three EXPIREs a minute.
local RENEW_EVERY_MS = 60000
local chat = redis.call('HMGET', KEYS[1], 'state', 'counsellor', 'tok', 'ttl_at')
local state = chat[1]
if not state then return {0, 'chat_not_found'} end
if ARGV[3] == 'counsellor' then
  if state ~= 'active' then return {0, 'not_allowed_now'} end
  if chat[2] ~= ARGV[4] then return {0, 'not_your_chat'} end
elseif ARGV[3] == 'supervisor' and state ~= 'active' then
  return {0, 'not_allowed_now'}  -- a joined supervisor writes only in an answered chat
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '0-' .. seq,
  'kind', ARGV[5], 'from', ARGV[3], 'text', ARGV[6], 'ts', ARGV[7], 'cid', ARGV[10])
local now_ms = tonumber(ARGV[7])
local renewed_ms = tonumber(chat[4])
if not renewed_ms or now_ms - renewed_ms >= RENEW_EVERY_MS or now_ms < renewed_ms then
  local ttl = tonumber(ARGV[8])
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  if chat[3] then redis.call('EXPIRE', ARGV[1] .. 'tok:' .. chat[3], ttl) end
  redis.call('HSET', KEYS[1], 'ttl_at', ARGV[7])
end
redis.call('PUBLISH', ARGV[2], cjson.encode({
  seq = seq, kind = ARGV[5], from = ARGV[3], text = ARGV[6], ts = now_ms,
  cid = ARGV[10]}))
return {seq, 'ok'}
