-- A JoinableQueue's item is finished: consumed, and no longer owed to join(). Fenced as ack is.
-- ARGV[1] id, ARGV[2] token ('' when the caller got the id from elsewhere: the current lease's), ARGV[3] retry
-- Returns the number of items still unfinished, or -1 refused (no live lease on the item).
local token = ARGV[2]
if token == '' then
  local n = redis.call('HGET', KEYS[4], ARGV[1])
  if not n then return -1 end
  token = ARGV[1] .. '#' .. n
end
if applied('d' .. token) then return tonumber(redis.call('HGET', KEYS[1], 'unfinished') or '0') end
-- Held while its lease is there, expired or not: only a taker (reclaim) removes it, and then it is another's.
if not redis.call('ZSCORE', KEYS[5], token) then return -1 end
redis.call('ZREM', KEYS[5], token)
redis.call('SREM', KEYS[6], token)
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1], ARGV[1] .. ':deaths')
local left = redis.call('HINCRBY', KEYS[1], 'unfinished', -1)
remember('d' .. token)
if left <= 0 then wake('j') end
return left
