-- Shared by every script (scripts.ts puts it in front of each). The last ARGV of every script is the retry flag:
-- '1' when an earlier run of the same call may have been applied (its answer was lost with the connection).

-- The server's clock, in ms: every lease expiry is read and written against it, so clients' clocks never matter.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function is_retry()
  return ARGV[#ARGV] == '1'
end
