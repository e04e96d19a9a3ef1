-- Shared by the pool scripts (pool-*.lua; scripts.ts puts it after lib.lua). A pool's keys, in the order every pool
-- script takes them (redis/pool-keys.ts):
-- KEYS[1] tasks   list of task records waiting for a host, oldest first
-- KEYS[2] hosts   sorted set: host token -> lease expiry (server ms); renewed by the host's lease thread
-- KEYS[3] info    hash: host token -> JSON (host name, pid, workers, leaseMs, since), for messages and `procsafe status`
-- and, under the same hash tag:
-- held:<token>    hash: task id -> '<taken at ms>:<index> <record>', the tasks a live host runs
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

-- Held values start '<taken at ms>:<index in its take>': the order the host was given them, and runs them in.
local function taken_order(value)
  local at, i = string.match(value, '^(%d+):(%d+) ')
  return tonumber(at), tonumber(i)
end

local function taken_before(a, b)
  local at_a, i_a = taken_order(a)
  local at_b, i_b = taken_order(b)
  if at_a ~= at_b then return at_a < at_b end
  return i_a < i_b
end

-- A host whose lease expired died or was cut off while running what it held. It holds at most one task per worker, or
-- a short pipeline of sub-millisecond tasks: its oldest `workers` tasks were the ones running, as the oldest unanswered
-- task of a local worker is. Each is charged an attempt, as a local worker's death charges the task it ran, and goes
-- back to the front of the queue while retries last; past them, its submitter gets an 'x' result naming the host. The
-- rest never started and go back first in line, uncharged. Its late results are refused from now on (its held hash is
-- gone). Returns how many hosts were taken over.
local function reclaim(now)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - 1, 'LIMIT', 0, 100)
  local requeued = 0
  for _, token in ipairs(dead) do
    local info = redis.call('HGET', KEYS[3], token) or '{}'
    local ok, described = pcall(cjson.decode, info)
    local running = ok and type(described) == 'table' and tonumber(described['workers']) or 1
    local values = redis.call('HVALS', held_key(token))
    table.sort(values, taken_before)
    -- From the newest, so that the oldest ends up first in line.
    for i = #values, 1, -1 do
      local record = record_of(values[i])
      if i > running then
        redis.call('LPUSH', KEYS[1], record)
        requeued = requeued + 1
      else
        local id, submitter, retries, attempts = parse(record)
        attempts = tonumber(attempts) + 1
        if attempts > tonumber(retries) then
          push_results(submitter, { id .. ' x ' .. attempts .. ' ' .. retries .. ' ' .. info })
        else
          redis.call('LPUSH', KEYS[1], with_attempts(record, attempts))
          requeued = requeued + 1
        end
      end
    end
    redis.call('DEL', held_key(token))
    redis.call('ZREM', KEYS[2], token)
    redis.call('HDEL', KEYS[3], token)
  end
  if requeued > 0 then wake_hosts() end
  return #dead
end
