-- Queues task records (at most a thousand per call: unpack's limit), waking idle hosts when the queue was empty.
-- ARGV[1..n-1] records, ARGV[n] retry (a retried submit may queue a task twice: its second result is dropped)
-- Returns the queue's length.
local before = redis.call('LLEN', KEYS[1])
local n = redis.call('RPUSH', KEYS[1], unpack(ARGV, 1, #ARGV - 1))
if before == 0 then wake_hosts() end
return n
