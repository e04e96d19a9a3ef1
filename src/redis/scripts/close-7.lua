-- Closes the queue for everyone: no more puts. 'immediate' also drops the waiting items (done, for join()).
-- ARGV[1] 'drain' | 'immediate', ARGV[2] retry
-- Returns how many items were dropped.
local was = redis.call('HGET', KEYS[1], 'closed')
if was ~= 'immediate' then redis.call('HSET', KEYS[1], 'closed', ARGV[1]) end
local dropped = 0
if ARGV[1] == 'immediate' then
  local ids = redis.call('LRANGE', KEYS[2], 0, -1)
  for _, id in ipairs(ids) do
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id, id .. ':deaths')
  end
  redis.call('DEL', KEYS[2])
  dropped = #ids
  if redis.call('HGET', KEYS[1], 'kind') == 'joinable-queue' and dropped > 0 then
    redis.call('HINCRBY', KEYS[1], 'unfinished', -dropped)
  end
end
wake('c')
return dropped
