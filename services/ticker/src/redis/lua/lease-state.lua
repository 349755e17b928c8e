-- Read only. What an acquisition under a fencing token from outside Redis checks before taking a
-- token: whether the caller may take the lease now, and the highest token this Redis has seen
-- (the next token is taken above it).
--
-- KEYS[1]  lease                  string "<owner>:<token>" with a TTL
-- KEYS[2]  fencing-token counter  the highest token handed out through this Redis
--
-- ARGV[1]  the caller's instance id to take over from, or "" for none
--
-- Returns {1, counter} when the caller may take the lease; {0, the holder's lease value, its
-- remaining ttl ms} when another holds it.
-- @include lease-rules
local holder = redis.call('GET', KEYS[1])
if not may_take(holder, ARGV[1]) then
  return {0, holder, redis.call('PTTL', KEYS[1])}
end
return {1, tonumber(redis.call('GET', KEYS[2]) or '0')}
