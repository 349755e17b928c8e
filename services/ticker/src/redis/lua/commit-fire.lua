-- Fenced. After Kafka acknowledged the triggers and events: writes checkpoints, marks started
-- forbid-policy executions as running (unless they already finished), records applied run_now
-- executions, and clears the inflight marker.
--
-- KEYS[1]  lease
-- KEYS[2]  checkpoints    hash task_id -> "<last nominal ms>|<run count>|<off 0/1>"
-- KEYS[3]  inflight marker
-- KEYS[4]  running        hash task_id -> "<execution_id>|<deadline ms>"
-- KEYS[5]  finished       hash task_id -> execution_id that finished before its mark was written
-- KEYS[6]  commands done  zset execution_id -> when applied (ms)
--
-- ARGV[1]  the caller's lease value
-- ARGV[2]  now, ms
-- ARGV[3]  how long applied run_now executions are kept, ms
-- ARGV[4]  1 to clear the inflight marker
-- ARGV[5]  n checkpoint writes, ARGV[6] d checkpoint deletes, ARGV[7] r running marks,
-- ARGV[8]  c done executions
-- then     n pairs task_id, checkpoint; d task_ids; r triples task_id, execution_id, deadline ms;
--          c execution ids
--
-- Returns 1, or -1 when fenced out.
-- @include fenced
if not holds_lease(KEYS[1], ARGV[1]) then return -1 end
local now = tonumber(ARGV[2])
local n, d, r, c = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local i = 9
for _ = 1, n do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for _ = 1, d do
  redis.call('HDEL', KEYS[2], ARGV[i])
  redis.call('HDEL', KEYS[4], ARGV[i])
  redis.call('HDEL', KEYS[5], ARGV[i])
  i = i + 1
end
for _ = 1, r do
  if redis.call('HGET', KEYS[5], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[5], ARGV[i])
  else
    redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1] .. '|' .. ARGV[i + 2])
  end
  i = i + 3
end
for _ = 1, c do
  redis.call('ZADD', KEYS[6], now, ARGV[i])
  i = i + 1
end
if c > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now - tonumber(ARGV[3]))
end
if ARGV[4] == '1' then redis.call('DEL', KEYS[3]) end
return 1
