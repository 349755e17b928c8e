--[[
  Acknowledges claimed items after their publish succeeded: removes them and records the fired
  marker. A replacement waiting behind an item becomes pending at its own due time. An item whose
  claim token no longer matches (the claim expired and another dispatcher claimed it again, or it
  was acked already) is left alone.

  KEYS[1]  pending       zset  id -> dueAt
  KEYS[2]  inflight      zset  id -> claim expiry
  KEYS[3]  items         hash  id -> item value
  KEYS[4]  replacements  hash  id -> item value waiting behind the copy in flight
  KEYS[5]  the current fired-marker bucket (set)

  ARGV[1]  bucket expiry, epoch ms (PEXPIREAT)
  ARGV[2]  wake channel
  ARGV[3], ARGV[4], ...  id, token pairs

  Returns an array with one entry per pair: 1 acked, 0 stale
  Publishes the new earliest wake-up time on ARGV[2] when a replacement moved it earlier.
]]
-- @include item

local results = {}
local fired = 0
-- Only a promoted replacement can move the earliest wake-up; without any waiting, acks skip this.
local watchWake = redis.call("HLEN", KEYS[4]) > 0
local before = watchWake and earliestWake(KEYS[1], KEYS[2]) or nil
for i = 3, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local value = redis.call("HGET", KEYS[3], id)
  local acked = 0
  if value and redis.call("ZSCORE", KEYS[2], id) and decodeItem(value).token == token then
    redis.call("ZREM", KEYS[2], id)
    redis.call("HDEL", KEYS[3], id)
    redis.call("SADD", KEYS[5], id)
    promoteReplacement(KEYS[1], KEYS[3], KEYS[4], id)
    acked = 1
    fired = fired + 1
  end
  results[#results + 1] = acked
end
if fired > 0 then redis.call("PEXPIREAT", KEYS[5], ARGV[1]) end
if watchWake then wakeIfEarlier(ARGV[2], before, earliestWake(KEYS[1], KEYS[2])) end
return results
