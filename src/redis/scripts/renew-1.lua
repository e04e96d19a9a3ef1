-- Renews leases: a lease is a member of a sorted set whose score is its expiry (server ms). Only a lease still held
-- and not yet expired is renewed; a lapsed one is reported lost (another holder may have it by now).
-- KEYS[1] the leases' sorted set
-- ARGV[1], ARGV[2]: a member and its leaseMs; then more pairs; the last ARGV is the retry flag
-- Returns the members that were lost.
local now = now_ms()
local lost = {}
for i = 1, #ARGV - 1, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) >= now then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[i + 1]), ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
