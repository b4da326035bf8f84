-- Note whether the visitor says someone is with them ("Någon kommer": the widget is covered).
-- KEYS[1] chat hash. ARGV[1] '1' (not alone) or '0' (alone again).
-- The TTL is left as it is; a chat that ended or lapsed is not brought back as a bare hash.
-- Returns 1, or 0 when the chat no longer exists.
if not redis.call('HGET', KEYS[1], 'state') then return 0 end
redis.call('HSET', KEYS[1], 'not_alone', ARGV[1])
return 1
