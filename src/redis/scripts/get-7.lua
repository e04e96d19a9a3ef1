-- Leases the oldest item to the caller, first taking back the expired leases of dead holders.
-- ARGV[1] leaseMs, ARGV[2] retry
-- Returns { 1, id, item, deliveries, token }, { 0 } (nothing now), { -1 } (closed and drained, or closed at once), or
-- { -2, id, deaths }: an item was quarantined (lib.lua), told to this get once.
local now = now_ms()
reclaim(now)
local notices = redis.call('HGET', KEYS[1], 'notices')
if notices then
  local first, rest = string.match(notices, '^([^;]*);(.*)$')
  if rest == '' then redis.call('HDEL', KEYS[1], 'notices') else redis.call('HSET', KEYS[1], 'notices', rest) end
  local qid, deaths = string.match(first, '^(.*) (%d+)$')
  return { -2, qid, tonumber(deaths) }
end
local closed = redis.call('HGET', KEYS[1], 'closed')
if closed == 'immediate' then return { -1 } end
local id = redis.call('LPOP', KEYS[2])
if not id then
  -- Items still leased may come back: only a queue with nothing leased is drained.
  if closed and redis.call('SCARD', KEYS[6]) == 0 then return { -1 } end
  return { 0 }
end
local n = redis.call('HINCRBY', KEYS[4], id, 1)
local token = id .. '#' .. n
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[1]), token)
redis.call('SADD', KEYS[6], token)
return { 1, id, redis.call('HGET', KEYS[3], id), n, token }
