-- Accepts one item, atomically against maxsize: a writer that dies before or during this call holds no capacity.
-- ARGV[1] id (the writer's own, unique), ARGV[2] serialized item, ARGV[3] '1' to count it for join(), ARGV[4] retry
-- Returns 1 accepted, 0 full, -1 closed.
if applied(ARGV[1]) then return 1 end
local meta = redis.call('HMGET', KEYS[1], 'closed', 'maxsize')
if meta[1] then return -1 end
local maxsize = tonumber(meta[2] or '0')
if is_full(maxsize) then
  -- A dead reader's capacity comes back here too, not only when a reader gets.
  if reclaim(now_ms()) == 0 or is_full(maxsize) then return 0 end
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[1])
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], 'unfinished', 1) end
remember(ARGV[1])
wake('p')
return 1
