-- Takes the leader lease when nobody holds it, under a new fencing token.
--
-- KEYS[1]  lease                  string "<owner>:<token>" with a TTL
-- KEYS[2]  fencing-token counter  INCRed on every acquisition
--
-- ARGV[1]  owner id
-- ARGV[2]  ttl, ms
--
-- Returns {1, token} when acquired; {0, the holder's lease value, its remaining ttl ms} when held.
local holder = redis.call('GET', KEYS[1])
if holder then
  return {0, holder, redis.call('PTTL', KEYS[1])}
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return {1, token}
