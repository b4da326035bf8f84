-- The work list: every live request's plain fields (never the encrypted ones) and its lock
-- holder. Index entries whose request has expired are removed here, lazily, and counted once.
-- KEYS[1] work-list index, KEYS[2] today's counts
-- ARGV[1] request key prefix, ARGV[2] counts ttl s
-- Returns {{id, windows, attempts, last_attempt_s, language, topic, voicemail_ok,
-- say_nexus_ok, opening, lock holder or ''}, ...} in index order (store/callbacks.py
-- WORKLIST_FIELDS names the fields between the id and the holder).
local names = {'windows', 'attempts', 'last_attempt_s', 'language', 'topic', 'voicemail_ok',
  'say_nexus_ok', 'opening'}
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. id
  local values = redis.call('HMGET', key, unpack(names))
  if not values[1] then
    if redis.call('ZREM', KEYS[1], id) == 1 then
      redis.call('HINCRBY', KEYS[2], 'expired', 1)
      redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2]))
    end
  else
    local row = {id}
    for i = 1, #names do row[#row + 1] = values[i] or '' end
    row[#row + 1] = redis.call('GET', key .. ':lock') or ''
    out[#out + 1] = row
  end
end
return out
