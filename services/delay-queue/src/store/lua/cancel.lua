--[[
  Cancels a delayed item.

  KEYS[1]     pending       zset  id -> dueAt
  KEYS[2]     inflight      zset  id -> claim expiry
  KEYS[3]     items         hash  id -> item value
  KEYS[4]     replacements  hash  id -> item value waiting behind the copy in flight
  KEYS[5..n]  fired-marker buckets (sets) that may still hold the id

  ARGV[1]  id

  Returns "cancelled"      it was pending and is gone (the id is forgotten)
          "in_flight"      a dispatcher holds it: it is marked cancelled and a replacement waiting
                           behind it is removed, so a release or an expired claim drops it instead
                           of dispatching anything again, but the publish under way may still
                           happen (an ack then records it as fired)
          "already_fired"  it fired within the marker TTL
          "not_found"      no trace of it
]]
-- @include item
-- @include requests

return cancelOne(ARGV[1])
