--[[
  Removes claimed items for good without firing them: their target did not take them within the
  give-up time, and they were rejected (a DelayedMessageRejected event and a dead letter were
  written first). No fired marker is set, so the id may be scheduled again. A replacement waiting
  behind an item takes its place. Items whose claim token no longer matches are left alone.

  KEYS[1]  pending       zset  id -> dueAt
  KEYS[2]  inflight      zset  id -> claim expiry
  KEYS[3]  items         hash  id -> item value
  KEYS[4]  replacements  hash  id -> item value waiting behind the copy in flight

  ARGV[1]  wake channel
  ARGV[2], ARGV[3], ...  id, token pairs

  Returns an array with one entry per pair: 1 dropped, 0 stale
  Publishes the new earliest wake-up time on ARGV[1] when it moved earlier.
]]
-- @include item

local before = earliestWake(KEYS[1], KEYS[2])
local results = {}
for i = 2, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local value = redis.call("HGET", KEYS[3], id)
  local item = value and redis.call("ZSCORE", KEYS[2], id) and decodeItem(value)
  local outcome = 0
  if item and item.token == token then
    redis.call("ZREM", KEYS[2], id)
    redis.call("HDEL", KEYS[3], id)
    promoteReplacement(KEYS[1], KEYS[3], KEYS[4], id)
    outcome = 1
  end
  results[#results + 1] = outcome
end
wakeIfEarlier(ARGV[1], before, earliestWake(KEYS[1], KEYS[2]))
return results
