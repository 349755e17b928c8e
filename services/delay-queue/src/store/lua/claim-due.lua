--[[
  Claims up to a limit of due items for one dispatcher: first items whose earlier claim expired
  (their dispatcher died or stalled), then pending items with dueAt <= now, earliest first. Claimed
  items move to the in-flight set, scored by the claim's expiry, and carry the claim token.

  KEYS[1]  pending       zset  id -> dueAt
  KEYS[2]  inflight      zset  id -> claim expiry
  KEYS[3]  items         hash  id -> item value
  KEYS[4]  replacements  hash  id -> item value waiting behind the copy in flight

  ARGV[1]  now, epoch ms
  ARGV[2]  limit (at least 1)
  ARGV[3]  claim expiry, epoch ms (now + visibility timeout)
  ARGV[4]  claim token

  Returns a flat array, six entries per claimed item, ordered by dueAt:
          id, dueAt, attempts (claims so far, this one included), redelivered ("1" when the
          previous claim expired, else "0"), generation, record
  An expired claim of an item cancelled while in flight is dropped, not returned. An expired claim
  of an item with a replacement waiting is dropped too (the copy may or may not have gone out; the
  requester asked for the replacement instead), and the replacement becomes pending: a later claim
  takes it.
]]
-- @include item

local now, limit, expiry, token = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local claimed = {}

local function claim(id, item, redelivered)
  item.attempts = item.attempts + 1
  item.token = token
  redis.call("HSET", KEYS[3], id, encodeItem(item))
  redis.call("ZADD", KEYS[2], expiry, id)
  claimed[#claimed + 1] = {
    id, item.due, string.format("%d", item.attempts), redelivered, string.format("%d", item.generation), item.record
  }
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
  local waiting = redis.call("HGET", KEYS[4], entry.id)
  if waiting then entry.replacement = { value = waiting, due = decodeItem(waiting).due } end
  entry.reclaim = entry.item and not entry.item.cancelled and not entry.replacement
  if entry.reclaim then reclaimable = reclaimable + 1 end
end
local due = {}
if limit > reclaimable then
  for _, id in ipairs(redis.call("ZRANGE", KEYS[1], "-inf", now, "BYSCORE", "LIMIT", 0, limit - reclaimable)) do
    local value = redis.call("HGET", KEYS[3], id)
    due[#due + 1] = { id = id, item = value and decodeItem(value) }
  end
end

if #due > 0 then
  -- The ids just read are exactly the first #due ranks, so one call removes them all. It runs
  -- before any replacement below is added to pending, which would shift the ranks.
  redis.call("ZREMRANGEBYRANK", KEYS[1], 0, #due - 1)
end
for _, entry in ipairs(expired) do
  if entry.reclaim then
    claim(entry.id, entry.item, "1")
  else
    -- Cancelled or replaced while in flight (or an orphan without a value): this copy is gone
    -- for good; a replacement takes its place as a pending item.
    redis.call("ZREM", KEYS[2], entry.id)
    redis.call("HDEL", KEYS[3], entry.id)
    if entry.replacement then
      redis.call("HDEL", KEYS[4], entry.id)
      redis.call("HSET", KEYS[3], entry.id, entry.replacement.value)
      redis.call("ZADD", KEYS[1], entry.replacement.due, entry.id)
    end
  end
end
for _, entry in ipairs(due) do
  if entry.item then claim(entry.id, entry.item, "0") end
end

table.sort(claimed, function(a, b) return tonumber(a[2]) < tonumber(b[2]) end)
local reply = {}
for _, entry in ipairs(claimed) do
  for _, field in ipairs(entry) do reply[#reply + 1] = field end
end
return reply
