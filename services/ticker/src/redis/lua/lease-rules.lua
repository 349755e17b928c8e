-- Shared by the lease scripts (included, never run alone): who may take the lease.
--
-- KEYS, ARGV: none of their own (the including script passes the holder and the instance).
-- Returns: may_take(holder, instance) is true when nobody holds the lease (holder false), or when an
-- earlier process of the caller's instance holds it (owner "<instance>/<hex>": it was killed and
-- its lease has not expired yet); instance "" never takes over.
local function may_take(holder, instance)
  if not holder then return true end
  if instance == '' then return false end
  local prefix = instance .. '/'
  return string.sub(holder, 1, #prefix) == prefix
    and string.match(string.sub(holder, #prefix + 1), '^%x+:%d+$') ~= nil
end
