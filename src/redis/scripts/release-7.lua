-- Gives leased items back, unread, to the front of the queue in their order (an iterator's read-ahead, a disconnect);
-- after close({ immediate }) they are dropped.
-- ARGV[1..n-1] tokens, ARGV[n] retry
-- Returns how many were given back (a lapsed lease's item went back already).
local given = 0
for i = #ARGV - 1, 1, -1 do
  local token = ARGV[i]
  if redis.call('ZREM', KEYS[5], token) == 1 then
    redis.call('SREM', KEYS[6], token)
    local id = id_of(token)
    if redis.call('HEXISTS', KEYS[3], id) == 1 and requeue(id) then given = given + 1 end
  end
end
if given > 0 then wake('r') end
return given
