-- Extends the lease, only for its holder.
--
-- KEYS[1]  lease
--
-- ARGV[1]  the caller's lease value "<owner>:<token>"
-- ARGV[2]  ttl, ms
--
-- Returns 1 when renewed, 0 when the caller no longer holds the lease.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
