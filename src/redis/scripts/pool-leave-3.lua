-- A host leaves: whatever it still holds goes back to the front of the queue uncharged (it stops at once, or drained).
-- ARGV[1] token, ARGV[2] retry
-- Returns how many tasks went back, or -1 when the lease was gone already (its tasks were taken over).
local token = ARGV[1]
redis.call('HDEL', KEYS[3], token)
if redis.call('ZREM', KEYS[2], token) == 0 then return -1 end
local held = held_key(token)
local back = 0
for _, value in ipairs(redis.call('HVALS', held)) do
  redis.call('LPUSH', KEYS[1], record_of(value))
  back = back + 1
end
redis.call('DEL', held)
if back > 0 then wake_hosts() end
return back
