-- A worker host joins: its lease starts now, on the server's clock, and its description is kept for messages.
-- ARGV[1] token, ARGV[2] leaseMs, ARGV[3] info JSON, ARGV[4] retry
-- Returns 1.
redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1
