-- Takes the leader lease when nobody holds it, or when an earlier process of the caller's own
-- instance does (owner "<instance>/<hex>": it was killed and its lease has not expired yet),
-- under a new fencing token: the counter's INCR, or a token the caller took from a source outside
-- Redis (PostgreSQL), which must be above the highest token this Redis has seen.
--
-- KEYS[1]  lease                  string "<owner>:<token>" with a TTL
-- KEYS[2]  fencing-token counter  INCRed on every acquisition; with a token from outside, raised to it
--
-- ARGV[1]  owner id "<instance>/<hex>"
-- ARGV[2]  ttl, ms
-- ARGV[3]  the caller's instance id to take over from, or "" for none
-- ARGV[4]  the fencing token to use, or "" (or absent) to INCR the counter
--
-- Returns {1, token} when acquired, {1, token, the replaced lease value} when taken over from an
-- earlier process of the instance; {0, the holder's lease value, its remaining ttl ms} when held;
-- {-1, the counter} when the given token is not above the counter (nothing changed).
-- @include lease-rules
local holder = redis.call('GET', KEYS[1])
if not may_take(holder, ARGV[3]) then
  return {0, holder, redis.call('PTTL', KEYS[1])}
end
local token
if ARGV[4] == nil or ARGV[4] == '' then
  token = redis.call('INCR', KEYS[2])
else
  token = tonumber(ARGV[4])
  local counter = tonumber(redis.call('GET', KEYS[2]) or '0')
  if token <= counter then return {-1, counter} end
  redis.call('SET', KEYS[2], ARGV[4])
end
-- string.format: a Lua number above 1e14 would print as 1e+14 through plain concatenation.
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. string.format('%d', token), 'PX', ARGV[2])
if holder then return {1, token, holder} end
return {1, token}
