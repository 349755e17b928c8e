-- Fenced. Stores the global pause state, so it survives restarts and leader changes.
--
-- KEYS[1]  lease
-- KEYS[2]  pause  string JSON of the pause state
--
-- ARGV[1]  the caller's lease value
-- ARGV[2]  pause state JSON
--
-- Returns 1, or -1 when fenced out.
-- @include fenced
if not holds_lease(KEYS[1], ARGV[1]) then return -1 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
