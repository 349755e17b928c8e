--[[
  Acknowledges claimed items after their publish succeeded: removes them and records the fired
  marker. An item whose claim token no longer matches (the claim expired and another dispatcher
  claimed it again, or it was acked already) is left alone.

  KEYS[1]  inflight  zset  id -> claim expiry
  KEYS[2]  items     hash  id -> item value
  KEYS[3]  the current fired-marker bucket (set)

  ARGV[1]  bucket expiry, epoch ms (PEXPIREAT)
  ARGV[2], ARGV[3], ...  id, token pairs

  Returns an array with one entry per pair: 1 acked, 0 stale
]]
-- @include item

local results = {}
local fired = 0
for i = 2, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local value = redis.call("HGET", KEYS[2], id)
  local acked = 0
  if value and redis.call("ZSCORE", KEYS[1], id) and decodeItem(value).token == token then
    redis.call("ZREM", KEYS[1], id)
    redis.call("HDEL", KEYS[2], id)
    redis.call("SADD", KEYS[3], id)
    acked = 1
    fired = fired + 1
  end
  results[#results + 1] = acked
end
if fired > 0 then redis.call("PEXPIREAT", KEYS[3], ARGV[1]) end
return results
