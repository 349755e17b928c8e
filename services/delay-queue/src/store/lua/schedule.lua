--[[
  Stores a delayed item, one message per id. What happens to an id that is already known depends
  on its state and on the mode:

    state                         keep                         replace
    unknown (or cancelled while   stored: "scheduled"          stored: "scheduled"
      pending, which forgets it)
    pending                       "duplicate"                  due time and record replaced:
                                                               "rescheduled" ("duplicate" when equal)
    in flight                     "in_flight"                  stored as its replacement, pending
                                                               once the copy in flight settles:
                                                               "rescheduled" ("in_flight" when equal)
    in flight, replacement        "duplicate"                  replacement replaced: "rescheduled"
      waiting                                                  ("duplicate" when equal)
    in flight, cancelled          "in_flight"                  stored as its replacement: "scheduled"
                                                               ("in_flight" when equal to the copy)
    fired (marker within TTL)     "already_fired"              "already_fired"

  keep never changes an id that is pending or in flight, so a redelivered request (the intake is at
  least once) can never bring back a message that a later request replaced or cancelled.

  A replacement, and a pending item replaced after a failed publish (attempts > 0, which may have
  reached the target after all), take the next generation, so they go out under a message-id of
  their own and consumers that drop duplicates by message-id keep both copies.

  KEYS[1]     pending       zset  id -> dueAt
  KEYS[2]     inflight      zset  id -> claim expiry
  KEYS[3]     items         hash  id -> item value
  KEYS[4]     replacements  hash  id -> item value waiting behind the copy in flight
  KEYS[5..n]  fired-marker buckets (sets) that may still hold the id

  ARGV[1]  id
  ARGV[2]  dueAt, epoch ms (integer digits)
  ARGV[3]  record (opaque bytes)
  ARGV[4]  wake channel
  ARGV[5]  mode: "keep" or "replace"

  Returns "scheduled", "rescheduled", "duplicate", "in_flight" or "already_fired" (table above)
  Publishes the new earliest wake-up time on ARGV[4] when it moved earlier.
]]
-- @include item
-- @include requests

local channel = ARGV[4]
local before = earliestWake(KEYS[1], KEYS[2])
local outcome = scheduleOne(ARGV[1], ARGV[2], ARGV[3], ARGV[5] == "replace")
wakeIfEarlier(channel, before, earliestWake(KEYS[1], KEYS[2]))
return outcome
