--[[
  Shared request functions, pasted after "-- @include item" where a script says
  "-- @include requests": the state changes of one schedule and one cancel request, without the
  wake-up (the caller compares the earliest wake-up before and after, once per call).
  KEYS and ARGV are the caller's: KEYS[1..4] pending, inflight, items, replacements, KEYS[5..n]
  the fired-marker buckets (see schedule.lua). Returns: each function its request's outcome.
]]

-- The table by state and mode is in schedule.lua's header.
local function scheduleOne(id, due, record, replace)
  local current = redis.call("HGET", KEYS[3], id)
  if current then
    local item = decodeItem(current)
    if redis.call("ZSCORE", KEYS[2], id) then
      local waiting = redis.call("HGET", KEYS[4], id)
      if waiting then
        local replacement = decodeItem(waiting)
        if not replace or (replacement.due == due and replacement.record == record) then return "duplicate" end
        redis.call("HSET", KEYS[4], id, encodeItem(newItem(due, record, replacement.generation)))
        return "rescheduled"
      end
      if not replace or (item.due == due and item.record == record) then return "in_flight" end
      redis.call("HSET", KEYS[4], id, encodeItem(newItem(due, record, item.generation + 1)))
      -- After a cancel nothing was left to replace: this is a new message behind the cancelled copy.
      if item.cancelled then return "scheduled" end
      return "rescheduled"
    end
    if not replace or (item.due == due and item.record == record) then return "duplicate" end
    local generation = item.generation
    if item.attempts > 0 then generation = generation + 1 end
    redis.call("HSET", KEYS[3], id, encodeItem(newItem(due, record, generation)))
    redis.call("ZADD", KEYS[1], due, id)
    return "rescheduled"
  end
  if firedBefore(5, id) then return "already_fired" end
  redis.call("HSET", KEYS[3], id, encodeItem(newItem(due, record, 0)))
  redis.call("ZADD", KEYS[1], due, id)
  return "scheduled"
end

-- The outcomes are in cancel.lua's header.
local function cancelOne(id)
  if redis.call("ZREM", KEYS[1], id) == 1 then
    redis.call("HDEL", KEYS[3], id)
    return "cancelled"
  end
  if redis.call("ZSCORE", KEYS[2], id) then
    redis.call("HDEL", KEYS[4], id)
    local item = decodeItem(redis.call("HGET", KEYS[3], id))
    if not item.cancelled then
      item.cancelled = true
      redis.call("HSET", KEYS[3], id, encodeItem(item))
    end
    return "in_flight"
  end
  if firedBefore(5, id) then return "already_fired" end
  return "not_found"
end
