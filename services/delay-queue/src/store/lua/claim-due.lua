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

local expired = redis.call("ZRANGE", KEYS[2], "-inf", now, "BYSCORE", "LIMIT", 0, limit)
for _, id in ipairs(expired) do
  local value = redis.call("HGET", KEYS[3], id)
  local item = value and decodeItem(value)
  if item and not item.cancelled then
    claim(id, item, "1")
  else
    redis.call("ZREM", KEYS[2], id)
    redis.call("HDEL", KEYS[3], id)
  end
end

local room = limit - #claimed
if room > 0 then
  local due = redis.call("ZRANGE", KEYS[1], "-inf", now, "BYSCORE", "LIMIT", 0, room)
  if #due > 0 then
    -- The ids just read are exactly the first #due ranks, so one call removes them all.
    redis.call("ZREMRANGEBYRANK", KEYS[1], 0, #due - 1)
    for _, id in ipairs(due) do
      claim(id, decodeItem(redis.call("HGET", KEYS[3], id)), "0")
    end
  end
end

table.sort(claimed, function(a, b) return tonumber(a[2]) < tonumber(b[2]) end)
local reply = {}
for _, entry in ipairs(claimed) do
  for _, field in ipairs(entry) do reply[#reply + 1] = field end
end
return reply
