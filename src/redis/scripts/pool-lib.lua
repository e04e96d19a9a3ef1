-- Shared by the pool scripts (pool-*.lua; scripts.ts puts it after lib.lua). A pool's keys, in the order every pool
-- script takes them (redis/pool-keys.ts):
-- KEYS[1] tasks   list of task records waiting for a host, oldest first
-- KEYS[2] hosts   sorted set: host token -> lease expiry (server ms); renewed by the host's lease thread
-- KEYS[3] info    hash: host token -> JSON (host name, pid, workers, leaseMs, since), for messages and `procsafe status`
-- and, under the same hash tag:
-- held:<token>    hash: task id -> '<taken at ms> <record>', the tasks a live host runs
-- res:<submitter> list of result records for one submitting pool; popped as read, expiring if the submitter vanished
-- A task record is '<id> <submitter> <retries> <attempts> <fn> <arguments>'; an id is '<submitter>.<n>'.
local kPrefix = string.sub(KEYS[1], 1, #KEYS[1] - #'tasks')
-- Results nobody pops (their submitter died) go after this long without a new one.
local kResultTtlMs = 3600000

local function held_key(token)
  return kPrefix .. 'held:' .. token
end

local function parse(record)
  return string.match(record, '^(%S+) (%S+) (%d+) (%d+) ()')
end

local function with_attempts(record, attempts)
  local id, submitter, retries, _, rest = parse(record)
  return id .. ' ' .. submitter .. ' ' .. retries .. ' ' .. attempts .. ' ' .. string.sub(record, rest)
end

-- A held value without its '<taken at> ' prefix.
local function record_of(value)
  return string.sub(value, string.find(value, ' ', 1, true) + 1)
end

local function submitter_of(id)
  return string.match(id, '^(.*)%.')
end

local function push_results(submitter, results)
  local key = kPrefix .. 'res:' .. submitter
  redis.call('RPUSH', key, unpack(results))
  redis.call('PEXPIRE', key, kResultTtlMs)
end

local function wake_hosts()
  redis.call('PUBLISH', kPrefix .. 'wake', 't')
end

-- A host whose lease expired died or was cut off while running what it held: each of its tasks is charged an attempt,
-- as a local worker's death charges the task it ran, and goes back to the front of the queue while retries last;
-- past them, its submitter gets an 'x' result naming the host. Its late results are refused from now on (its held
-- hash is gone). Returns how many hosts were taken over.
local function reclaim(now)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - 1, 'LIMIT', 0, 100)
  local requeued = 0
  for _, token in ipairs(dead) do
    local info = redis.call('HGET', KEYS[3], token) or '{}'
    for _, value in ipairs(redis.call('HVALS', held_key(token))) do
      local record = record_of(value)
      local id, submitter, retries, attempts = parse(record)
      attempts = tonumber(attempts) + 1
      if attempts > tonumber(retries) then
        push_results(submitter, { id .. ' x ' .. attempts .. ' ' .. retries .. ' ' .. info })
      else
        redis.call('LPUSH', KEYS[1], with_attempts(record, attempts))
        requeued = requeued + 1
      end
    end
    redis.call('DEL', held_key(token))
    redis.call('ZREM', KEYS[2], token)
    redis.call('HDEL', KEYS[3], token)
  end
  if requeued > 0 then wake_hosts() end
  return #dead
end
