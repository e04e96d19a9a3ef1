-- The queue's counts, after taking back expired leases (so a dead holder's items and capacity show as they will be).
-- ARGV[1] retry
-- Returns { qsize, unacked, leased, maxsize, closed or '', unfinished, kind, quarantined }.
reclaim(now_ms())
local meta = redis.call('HMGET', KEYS[1], 'maxsize', 'closed', 'unfinished', 'kind', 'quarantined')
return { redis.call('LLEN', KEYS[2]), redis.call('SCARD', KEYS[6]), redis.call('ZCARD', KEYS[5]),
  tonumber(meta[1] or '0'), meta[2] or '', tonumber(meta[3] or '0'), meta[4] or '', tonumber(meta[5] or '0') }
