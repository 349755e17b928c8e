-- Gives the lease up, only for its holder, so a standby can take over without waiting for the TTL.
--
-- KEYS[1]  lease
--
-- ARGV[1]  the caller's lease value
--
-- Returns 1 when released, 0 when the caller did not hold it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
