-- Renews leases: a lease is a member of a sorted set whose score is its expiry (server ms). A lease is held while its
-- member is there: only a taker (a script that finds it expired) removes it, atomically, so renewing one that expired
-- but was not taken yet is safe. One that is gone is reported lost (another holder may have its item by now).
-- KEYS[1] the leases' sorted set
-- ARGV[1], ARGV[2]: a member and its leaseMs; then more pairs; the last ARGV is the retry flag
-- Returns the members that were lost.
local now = now_ms()
local lost = {}
for i = 1, #ARGV - 1, 2 do
  if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[i + 1]), ARGV[i]) == 0
    and not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
