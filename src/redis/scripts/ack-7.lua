-- The reader hands the item to its code. A Queue's item is consumed now; a JoinableQueue's stays leased until taskDone.
-- Fenced: only the holder of a live lease may ack.
-- ARGV[1] token, ARGV[2] '1' for a JoinableQueue, ARGV[3] retry
-- Returns 1 done, 0 refused (the lease lapsed: the item went, or will go, to another reader).
if applied('a' .. ARGV[1]) then return 1 end
local token = ARGV[1]
-- Held while its lease is there, expired or not: only a taker (reclaim) removes it, and then it is another's.
if not redis.call('ZSCORE', KEYS[5], token) then return 0 end
redis.call('SREM', KEYS[6], token)
if ARGV[2] ~= '1' then
  local id = id_of(token)
  redis.call('ZREM', KEYS[5], token)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id, id .. ':deaths')
end
remember('a' .. token)
local meta = redis.call('HMGET', KEYS[1], 'closed', 'maxsize')
-- Writers wait for this capacity; readers of a closed queue wait to learn it is drained.
if meta[1] or tonumber(meta[2] or '0') > 0 then wake('a') end
return 1
