--[[
  Shared functions, pasted into each script where it says "-- @include item".

  An item value is one header line and the record:
    "<dueAt>|<attempts>|<token>|<cancelled>\n<record>"
  dueAt: epoch ms (digits); attempts: how often it was claimed; token: the current claim's token
  (empty while pending); cancelled: "1" when a cancel arrived while it was in flight. The record
  is opaque bytes and may contain anything, newlines included: only the first newline counts.
]]
local function decodeItem(value)
  local newline = string.find(value, "\n", 1, true)
  local due, attempts, token, cancelled =
    string.match(string.sub(value, 1, (newline or 1) - 1), "^(%d+)|(%d+)|([^|]*)|([01])$")
  -- Fails loudly instead of writing back a value built from missing fields.
  if not due then error("delay store: malformed item value") end
  return {
    due = due,
    attempts = tonumber(attempts),
    token = token,
    cancelled = cancelled == "1",
    record = string.sub(value, newline + 1)
  }
end

local function encodeItem(item)
  return item.due .. "|" .. string.format("%d", item.attempts) .. "|" .. item.token .. "|" ..
    (item.cancelled and "1" or "0") .. "\n" .. item.record
end

-- The earliest moment a dispatcher must look again: the first due time or the first claim expiry.
local function earliestWake(pendingKey, inFlightKey)
  local earliest = nil
  for _, key in ipairs({ pendingKey, inFlightKey }) do
    local head = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
    if head[2] ~= nil and (earliest == nil or tonumber(head[2]) < tonumber(earliest)) then
      earliest = head[2]
    end
  end
  return earliest
end

-- Publishes the new earliest wake-up when it moved earlier, so sleeping dispatchers look again.
local function wakeIfEarlier(channel, before, after)
  if after ~= nil and (before == nil or tonumber(after) < tonumber(before)) then
    redis.call("PUBLISH", channel, after)
  end
end

local function firedBefore(firstKey, id)
  for i = firstKey, #KEYS do
    if redis.call("SISMEMBER", KEYS[i], id) == 1 then return true end
  end
  return false
end
