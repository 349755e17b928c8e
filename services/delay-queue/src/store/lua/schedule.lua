--[[
  Stores a delayed item, keeping one copy per id.

  KEYS[1]     pending   zset  id -> dueAt
  KEYS[2]     inflight  zset  id -> claim expiry
  KEYS[3]     items     hash  id -> item value
  KEYS[4..n]  fired-marker buckets (sets) that may still hold the id

  ARGV[1]  id
  ARGV[2]  dueAt, epoch ms (integer digits)
  ARGV[3]  record (opaque bytes)
  ARGV[4]  wake channel

  Returns "scheduled"      stored, id was unknown
          "rescheduled"    id was pending with another due time or record; now replaced
          "duplicate"      id was pending with the same due time and record; nothing changed
          "in_flight"      id is being dispatched; nothing changed
          "already_fired"  id fired within the marker TTL; nothing changed
  Publishes the new earliest wake-up time on ARGV[4] when it moved earlier.
]]
-- @include item

local id, due, record = ARGV[1], ARGV[2], ARGV[3]

local current = redis.call("HGET", KEYS[3], id)
local outcome = "scheduled"
if current then
  if redis.call("ZSCORE", KEYS[2], id) then return "in_flight" end
  local item = decodeItem(current)
  if item.due == due and item.record == record then return "duplicate" end
  outcome = "rescheduled"
elseif firedBefore(4, id) then
  return "already_fired"
end

local before = earliestWake(KEYS[1], KEYS[2])
redis.call("HSET", KEYS[3], id, encodeItem({ due = due, attempts = 0, token = "", cancelled = false, record = record }))
redis.call("ZADD", KEYS[1], due, id)
wakeIfEarlier(ARGV[4], before, earliestWake(KEYS[1], KEYS[2]))
return outcome
