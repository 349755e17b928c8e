-- Fenced. Before triggers are sent: records that a fire is in flight (a successor reconciles the
-- window against Kafka) and checks the running slot of tasks that forbid overlapping runs.
--
-- KEYS[1]  lease
-- KEYS[2]  inflight marker  string JSON { token, since, topics }
-- KEYS[3]  running          hash task_id -> "<execution_id>|<deadline ms>"
--
-- ARGV[1]  the caller's lease value
-- ARGV[2]  now, ms
-- ARGV[3]  inflight marker JSON
-- ARGV[4], ARGV[5], ...  task_id, execution_id pairs of forbid-policy tasks about to fire
--
-- Returns -1 when fenced out; else a flat list {task_id, running execution_id, ...} of the tasks
-- refused because another execution still holds their slot.
-- @include fenced
if not holds_lease(KEYS[1], ARGV[1]) then return -1 end
redis.call('SET', KEYS[2], ARGV[3])
local now = tonumber(ARGV[2])
local refused = {}
for i = 4, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[3], ARGV[i])
  if current then
    local sep = string.find(current, '|', 1, true)
    local holder = string.sub(current, 1, sep - 1)
    if holder ~= ARGV[i + 1] and tonumber(string.sub(current, sep + 1)) > now then
      refused[#refused + 1] = ARGV[i]
      refused[#refused + 1] = holder
    end
  end
end
return refused
