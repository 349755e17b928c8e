-- Shared by the fenced scripts (included, never run alone): a fenced script changes nothing
-- unless the caller still holds the lease under the token it was given, so a deposed leader
-- (an older token) cannot move a checkpoint.
--
-- KEYS, ARGV: none of its own (it reads the lease key and value the including script passes).
-- Returns: holds_lease(lease key, caller's lease value) is true when they match.
local function holds_lease(lease_key, value)
  return redis.call('GET', lease_key) == value
end
