--[[
  Tells which ids this store knows: pending, in flight (an item value exists) or fired within the
  marker TTL. Read only. A sharded store asks the shards an id may have been stored in before the
  shard count changed (and the unsharded keys of a store written before sharding), so a schedule or
  cancel of that id goes where the id lives.

  KEYS[1]     pending       zset  (unused; the same key list as the other scripts)
  KEYS[2]     inflight      zset  (unused)
  KEYS[3]     items         hash  id -> item value
  KEYS[4]     replacements  hash  (unused: a replacement waits only behind an item value)
  KEYS[5..n]  fired-marker buckets (sets) that may still hold an id

  ARGV[1], ARGV[2], ...  ids

  Returns an array with one entry per id: 1 known here, 0 not
]]
-- @include item

local known = {}
for i = 1, #ARGV do
  local id = ARGV[i]
  if redis.call("HEXISTS", KEYS[3], id) == 1 or firedBefore(5, id) then
    known[i] = 1
  else
    known[i] = 0
  end
end
return known
