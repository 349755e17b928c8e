--[[
  Shared functions, pasted into each script where it says "-- @include item".

  An item value is a header and the record, in one of three forms:
    <6 bytes><record>                                                compact: pending, never claimed
    "<dueAt>|<attempts>|<token>|<cancelled>\n<record>"               generation 0
    "<dueAt>|<attempts>|<token>|<cancelled>|<generation>\n<record>"  generation 1 and up
  The compact form holds only the due time, big-endian in 6 bytes with the top bit set (so its first
  byte, 0x80 or above, is never the ASCII digit that starts the text forms); it stands for attempts
  0, no token, not cancelled, generation 0 — the state of nearly every pending item — and saves 13
  of the 19 header bytes, which keeps a typical value (a 246-byte record) within jemalloc's 256-byte
  size class. Every other state, and due times of 2^47 ms or later, use the text forms, which older
  versions wrote and which are still read.
  dueAt: epoch ms (digits); attempts: how often it was claimed; token: the current claim's token
  (empty while pending); cancelled: "1" when a cancel arrived while it was in flight; generation:
  how often the id's message was replaced after a copy of it may have reached the target (the
  dispatcher derives the message-id header from it). The record is opaque bytes and may contain
  anything, newlines included: only the first newline of a text form counts. A replacement waiting
  behind an item in flight has the same forms.
]]
local COMPACT_BYTES = 6
local COMPACT_LIMIT = 140737488355328 -- 2^47

local function decodeItem(value)
  local first = string.byte(value, 1)
  if first and first >= 128 then
    if #value < COMPACT_BYTES then error("delay store: malformed item value") end
    local due = first - 128
    for i = 2, COMPACT_BYTES do due = due * 256 + string.byte(value, i) end
    return {
      due = string.format("%d", due),
      attempts = 0,
      token = "",
      cancelled = false,
      generation = 0,
      record = string.sub(value, COMPACT_BYTES + 1)
    }
  end
  local newline = string.find(value, "\n", 1, true)
  local head = string.sub(value, 1, (newline or 1) - 1)
  local due, attempts, token, cancelled, generation =
    string.match(head, "^(%d+)|(%d+)|([^|]*)|([01])|(%d+)$")
  if not due then
    due, attempts, token, cancelled = string.match(head, "^(%d+)|(%d+)|([^|]*)|([01])$")
    generation = "0"
  end
  -- Fails loudly instead of writing back a value built from missing fields.
  if not due then error("delay store: malformed item value") end
  return {
    due = due,
    attempts = tonumber(attempts),
    token = token,
    cancelled = cancelled == "1",
    generation = tonumber(generation),
    record = string.sub(value, newline + 1)
  }
end

local function encodeItem(item)
  local due = tonumber(item.due)
  if item.attempts == 0 and item.token == "" and not item.cancelled and item.generation == 0 and
      due < COMPACT_LIMIT then
    local bytes = {}
    for i = COMPACT_BYTES, 1, -1 do
      bytes[i] = due % 256
      due = math.floor(due / 256)
    end
    bytes[1] = bytes[1] + 128
    return string.char(unpack(bytes)) .. item.record
  end
  -- Generation 0 keeps the four-field form, byte for byte what older versions wrote and read.
  local generation = ""
  if item.generation > 0 then generation = "|" .. string.format("%d", item.generation) end
  return item.due .. "|" .. string.format("%d", item.attempts) .. "|" .. item.token .. "|" ..
    (item.cancelled and "1" or "0") .. generation .. "\n" .. item.record
end

-- A pending item as a schedule writes it.
local function newItem(due, record, generation)
  return { due = due, attempts = 0, token = "", cancelled = false, generation = generation, record = record }
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

-- Once the copy in flight is settled (acknowledged, released or its claim expired), the
-- replacement waiting behind it becomes the id's pending item. Returns whether there was one.
local function promoteReplacement(pendingKey, itemsKey, replacementsKey, id)
  local waiting = redis.call("HGET", replacementsKey, id)
  if not waiting then return false end
  redis.call("HDEL", replacementsKey, id)
  redis.call("HSET", itemsKey, id, waiting)
  redis.call("ZADD", pendingKey, decodeItem(waiting).due, id)
  return true
end

local function firedBefore(firstKey, id)
  for i = firstKey, #KEYS do
    if redis.call("SISMEMBER", KEYS[i], id) == 1 then return true end
  end
  return false
end
