-- Takes the leader lease when nobody holds it, or when an earlier process of the caller's own
-- instance does (owner "<instance>/<hex>": it was killed and its lease has not expired yet),
-- under a new fencing token.
--
-- KEYS[1]  lease                  string "<owner>:<token>" with a TTL
-- KEYS[2]  fencing-token counter  INCRed on every acquisition
--
-- ARGV[1]  owner id "<instance>/<hex>"
-- ARGV[2]  ttl, ms
-- ARGV[3]  the caller's instance id to take over from, or "" for none
--
-- Returns {1, token} when acquired, {1, token, the replaced lease value} when taken over from an
-- earlier process of the instance; {0, the holder's lease value, its remaining ttl ms} when held.
local holder = redis.call('GET', KEYS[1])
if holder then
  local prefix = ARGV[3] .. '/'
  local predecessor = ARGV[3] ~= ''
    and string.sub(holder, 1, #prefix) == prefix
    and string.match(string.sub(holder, #prefix + 1), '^%x+:%d+$') ~= nil
  if not predecessor then
    return {0, holder, redis.call('PTTL', KEYS[1])}
  end
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
if holder then return {1, token, holder} end
return {1, token}
