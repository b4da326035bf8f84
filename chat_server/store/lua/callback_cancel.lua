-- The visitor cancels with the status code: every key of the request goes at once, even while
-- a counsellor holds it (the visitor's wish wins; the counsellor's outcome then finds it gone).
-- KEYS[1] status-code key, KEYS[2] work-list index, KEYS[3] today's counts
-- ARGV[1] request key prefix, ARGV[2] number key prefix, ARGV[3] counts ttl s
-- Returns 'ok' or 'not_found'.
local id = redis.call('GET', KEYS[1])
if not id then return 'not_found' end
local request = ARGV[1] .. id
local num_h = redis.call('HGET', request, 'num_h')
redis.call('DEL', request, request .. ':lock', KEYS[1])
if num_h then redis.call('SREM', ARGV[2] .. num_h, id) end
redis.call('ZREM', KEYS[2], id)
redis.call('HINCRBY', KEYS[3], 'cancelled', 1)
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
return 'ok'
