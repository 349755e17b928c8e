--[[
  Applies a batch of schedule and cancel requests in their order, as schedule.lua and cancel.lua
  would one by one (same tables of outcomes), in one call: the intake sends one per fetched batch.
  Requests for one id take effect in order, so a schedule followed by a cancel ends cancelled.
  The wake-up is published once, when the batch moved the earliest wake-up earlier.

  KEYS[1]     pending       zset  id -> dueAt
  KEYS[2]     inflight      zset  id -> claim expiry
  KEYS[3]     items         hash  id -> item value
  KEYS[4]     replacements  hash  id -> item value waiting behind the copy in flight
  KEYS[5..n]  fired-marker buckets (sets) that may still hold an id

  ARGV[1]  wake channel
  then five per request:
  ARGV[i]    "schedule" or "cancel"
  ARGV[i+1]  id
  ARGV[i+2]  dueAt, epoch ms (schedule; empty for a cancel)
  ARGV[i+3]  record (schedule; empty for a cancel)
  ARGV[i+4]  mode: "keep" or "replace" (schedule; empty for a cancel)

  Returns one outcome per request, in order: schedule.lua's or cancel.lua's
]]
-- @include item
-- @include requests

local before = earliestWake(KEYS[1], KEYS[2])
local outcomes = {}
for i = 2, #ARGV, 5 do
  if ARGV[i] == "schedule" then
    outcomes[#outcomes + 1] = scheduleOne(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4] == "replace")
  elseif ARGV[i] == "cancel" then
    outcomes[#outcomes + 1] = cancelOne(ARGV[i + 1])
  else
    error("delay store: unknown request kind")
  end
end
wakeIfEarlier(ARGV[1], before, earliestWake(KEYS[1], KEYS[2]))
return outcomes
