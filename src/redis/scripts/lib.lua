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

-- A queue's keys, in the order every queue script takes them (redis/queue-keys.ts):
-- KEYS[1] meta      hash: maxsize, kind, closed ('drain' | 'immediate'), unfinished (JoinableQueue)
-- KEYS[2] ready     list of item ids waiting for a reader, oldest first
-- KEYS[3] items     hash: id -> serialized item, until consumed (Queue: acked; JoinableQueue: taskDone)
-- KEYS[4] dlv       hash: id -> deliveries so far; id .. ':deaths' -> lapsed leases (holders dead or cut off)
-- KEYS[5] leases    sorted set: token ('<id>#<delivery>') -> expiry (server ms); renewed by the holder's lease thread
-- KEYS[6] unacked   set of tokens handed to a reader and not yet to its code: they count against maxsize
-- KEYS[7] recent    list: the calling client's latest applied puts, acks and taskDones, for its retries (expires)
local kRecent = 1024
local kRecentMs = 600000

local function wake(what)
  redis.call('PUBLISH', string.gsub(KEYS[1], ':meta$', ':wake'), what)
end

local function remember(entry)
  redis.call('LPUSH', KEYS[7], entry)
  redis.call('LTRIM', KEYS[7], 0, kRecent - 1)
  redis.call('PEXPIRE', KEYS[7], kRecentMs)
end

-- Whether an earlier run of this call was applied (a retry after a lost answer).
local function applied(entry)
  return is_retry() and redis.call('LPOS', KEYS[7], entry) ~= false
end

local function id_of(token)
  return string.match(token, '^(.*)#%d+$')
end

-- A leased item goes back to the front of the queue; after close({ immediate }) it is dropped instead (done, for
-- join()), as the waiting items were. Returns whether it went back.
local function requeue(id)
  if redis.call('HGET', KEYS[1], 'closed') ~= 'immediate' then
    redis.call('LPUSH', KEYS[2], id)
    return true
  end
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id, id .. ':deaths')
  if redis.call('HGET', KEYS[1], 'kind') == 'joinable-queue' then
    if redis.call('HINCRBY', KEYS[1], 'unfinished', -1) <= 0 then wake('j') end
  end
  return false
end

-- Forgets an item for good: its bytes and its counts.
local function forget(id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id, id .. ':deaths')
end

-- An item whose holders keep dying (kQuarantineAfterDeaths lapsed leases, as a local queue's) would kill every reader in
-- turn: it is dropped (done, for join()), counted, and told once to the next get ('notices' in meta: "id deaths;...").
local kQuarantineAfterDeaths = 5
local function quarantine(id, deaths)
  forget(id)
  redis.call('HINCRBY', KEYS[1], 'quarantined', 1)
  redis.call('HSET', KEYS[1], 'notices', (redis.call('HGET', KEYS[1], 'notices') or '') .. id .. ' ' .. deaths .. ';')
  if redis.call('HGET', KEYS[1], 'kind') == 'joinable-queue' then
    if redis.call('HINCRBY', KEYS[1], 'unfinished', -1) <= 0 then wake('j') end
  end
end

-- Expired leases go back to the front of the queue, oldest expiry first, with the same ids: their holders died or were
-- cut off. An item that lapsed too often is quarantined instead. Returns how many.
local function reclaim(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now - 1, 'LIMIT', 0, 1000)
  for i = #expired, 1, -1 do
    local token = expired[i]
    redis.call('ZREM', KEYS[5], token)
    redis.call('SREM', KEYS[6], token)
    local id = id_of(token)
    if redis.call('HEXISTS', KEYS[3], id) == 1 then
      local deaths = redis.call('HINCRBY', KEYS[4], id .. ':deaths', 1)
      if deaths >= kQuarantineAfterDeaths then quarantine(id, deaths) else requeue(id) end
    end
  end
  if #expired > 0 then wake('r') end
  return #expired
end

local function is_full(maxsize)
  return maxsize > 0 and redis.call('LLEN', KEYS[2]) + redis.call('SCARD', KEYS[6]) >= maxsize
end
