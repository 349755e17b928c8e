-- Not fenced (any replica may apply it, and applying it twice is harmless): an execution of a
-- forbid-policy task finished. Frees the task's running slot when that execution holds it;
-- otherwise remembers it as finished, so that a running mark written after this (the trigger's
-- commit racing a fast handler) is not left behind.
--
-- KEYS[1]  running   hash task_id -> "<execution_id>|<deadline ms>"
-- KEYS[2]  finished  hash task_id -> execution_id
--
-- ARGV[1]  task_id
-- ARGV[2]  execution_id
--
-- Returns 1 when the slot was freed, 0 when the execution was only remembered.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and string.sub(current, 1, #ARGV[2] + 1) == ARGV[2] .. '|' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 0
