-- Stores twice a number.
-- KEYS[1] the key
-- ARGV[1] the number
-- Returns the stored value.
-- @include shared
local value = double(ARGV[1])
redis.call('SET', KEYS[1], value)
return value
