-- A host's one call per turn: takes over dead hosts' tasks, reports its finished tasks, and takes new ones.
-- Fenced: a host whose lease is gone (it lapsed and was taken over) has every result refused and takes nothing.
-- ARGV[1] token, ARGV[2] how many tasks to take, ARGV[3] n, then n triples (kind, id, data):
--   'r' finished: data is the result record, pushed to its submitter
--   'c' its worker died running it, attempts left: data is its new attempt count; back to the front of the queue
--   'b' not run (the host stops at once): back to the front of the queue as it was
-- then the retry flag.
-- Returns { 1, records taken } or { -1 } (lease lost). On a retry the records are every task this host holds, so a
-- host whose answer was lost learns the tasks it took.
local now = now_ms()
reclaim(now)
local token = ARGV[1]
if not redis.call('ZSCORE', KEYS[2], token) then return { -1 } end
local held = held_key(token)
local n = tonumber(ARGV[3])
local done = {}
local by_submitter = {}
local submitters = {}
local requeued = 0
for i = 0, n - 1 do
  local kind, id, data = ARGV[4 + 3 * i], ARGV[5 + 3 * i], ARGV[6 + 3 * i]
  if kind == 'r' then
    if redis.call('HEXISTS', held, id) == 1 then
      done[#done + 1] = id
      local submitter = submitter_of(id)
      if not by_submitter[submitter] then
        by_submitter[submitter] = {}
        submitters[#submitters + 1] = submitter
      end
      local list = by_submitter[submitter]
      list[#list + 1] = data
    end
  else
    local value = redis.call('HGET', held, id)
    if value then
      local record = record_of(value)
      if kind == 'c' then record = with_attempts(record, data) end
      redis.call('LPUSH', KEYS[1], record)
      redis.call('HDEL', held, id)
      requeued = requeued + 1
    end
  end
end
if #done > 0 then redis.call('HDEL', held, unpack(done)) end
for _, submitter in ipairs(submitters) do push_results(submitter, by_submitter[submitter]) end
if requeued > 0 then wake_hosts() end
if is_retry() then
  local records = {}
  for _, value in ipairs(redis.call('HVALS', held)) do records[#records + 1] = record_of(value) end
  return { 1, records }
end
local want = tonumber(ARGV[2])
if want <= 0 then return { 1, {} } end
local records = redis.call('LPOP', KEYS[1], want)
if not records then return { 1, {} } end
local fields = {}
for i, record in ipairs(records) do
  fields[#fields + 1] = string.match(record, '^(%S+) ')
  fields[#fields + 1] = now .. ':' .. i .. ' ' .. record
end
redis.call('HSET', held, unpack(fields))
return { 1, records }
