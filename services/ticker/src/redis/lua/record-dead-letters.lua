-- Fenced. Remembers which record of each invalid definition was dead-lettered, so that a restart
-- or the next leader, reading the whole table again, does not dead-letter it again; forgets the
-- tasks whose definition became valid or was deleted.
--
-- KEYS[1]  lease
-- KEYS[2]  definition dead letters  hash task_id -> "<partition>:<offset>" of the record
--
-- ARGV[1]  the caller's lease value
-- ARGV[2]  n records to remember
-- then     n pairs task_id, "<partition>:<offset>"; then the task ids to forget
--
-- Returns 1, or -1 when fenced out.
-- @include fenced
if not holds_lease(KEYS[1], ARGV[1]) then return -1 end
local n = tonumber(ARGV[2])
local i = 3
for _ = 1, n do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('HDEL', KEYS[2], ARGV[i])
  i = i + 1
end
return 1
