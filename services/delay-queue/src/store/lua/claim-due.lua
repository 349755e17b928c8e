--[[
  Claims up to a limit of due items for one dispatcher: first items whose earlier claim expired
  (their dispatcher died or stalled), then pending items with dueAt <= now, earliest first. Claimed
  items move to the in-flight set, scored by the claim's expiry, and carry the claim token.

  KEYS[1]  pending   zset  id -> dueAt
  KEYS[2]  inflight  zset  id -> claim expiry
  KEYS[3]  items     hash  id -> item value

  ARGV[1]  now, epoch ms
  ARGV[2]  limit (at least 1)
  ARGV[3]  claim expiry, epoch ms (now + visibility timeout)
  ARGV[4]  claim token

  Returns a flat array, five entries per claimed item, ordered by dueAt:
          id, dueAt, attempts (claims so far, this one included), redelivered ("1" when the
          previous claim expired, else "0"), record
  Expired claims of items cancelled while in flight are dropped, not returned.
]]
-- @include item

local now, limit, expiry, token = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local claimed = {}

local function claim(id, item, redelivered)
  item.attempts = item.attempts + 1
  item.token = token
  redis.call("HSET", KEYS[3], id, encodeItem(item))
  redis.call("ZADD", KEYS[2], expiry, id)
  claimed[#claimed + 1] = { id, item.due, string.format("%d", item.attempts), redelivered, item.record }
end

-- Everything is read and decoded before the first write: Redis does not roll a script back, so a
-- failure halfway must not leave items taken from pending but never claimed.
local expired = {}
for _, id in ipairs(redis.call("ZRANGE", KEYS[2], "-inf", now, "BYSCORE", "LIMIT", 0, limit)) do
  local value = redis.call("HGET", KEYS[3], id)
  expired[#expired + 1] = { id = id, item = value and decodeItem(value) }
end
local reclaimable = 0
for _, entry in ipairs(expired) do
  if entry.item and not entry.item.cancelled then reclaimable = reclaimable + 1 end
end
local due = {}
if limit > reclaimable then
  for _, id in ipairs(redis.call("ZRANGE", KEYS[1], "-inf", now, "BYSCORE", "LIMIT", 0, limit - reclaimable)) do
    local value = redis.call("HGET", KEYS[3], id)
    due[#due + 1] = { id = id, item = value and decodeItem(value) }
  end
end

for _, entry in ipairs(expired) do
  if entry.item and not entry.item.cancelled then
    claim(entry.id, entry.item, "1")
  else
    -- Cancelled while in flight (or an orphan without a value): gone for good.
    redis.call("ZREM", KEYS[2], entry.id)
    redis.call("HDEL", KEYS[3], entry.id)
  end
end
if #due > 0 then
  -- The ids just read are exactly the first #due ranks, so one call removes them all.
  redis.call("ZREMRANGEBYRANK", KEYS[1], 0, #due - 1)
  for _, entry in ipairs(due) do
    if entry.item then claim(entry.id, entry.item, "0") end
  end
end

table.sort(claimed, function(a, b) return tonumber(a[2]) < tonumber(b[2]) end)
local reply = {}
for _, entry in ipairs(claimed) do
  for _, field in ipairs(entry) do reply[#reply + 1] = field end
end
return reply
