--[[
  Records the shard count a replica uses and whether the store's unsharded (legacy) keys, written
  before the store was sharded, still hold anything: items of any state, or a fired marker that has
  not expired. While they do, replicas keep dispatching them and look ids up in them.

  KEYS[1]     layout hash: "<count>" -> epoch ms first used, "legacy" -> "1" or "0"
  KEYS[2]     legacy pending       zset
  KEYS[3]     legacy inflight      zset
  KEYS[4]     legacy items         hash
  KEYS[5]     legacy replacements  hash
  KEYS[6..n]  legacy fired-marker buckets that may still exist

  ARGV[1]  shard count to record (0: record none, only refresh "legacy")
  ARGV[2]  now, epoch ms

  Returns the layout hash after the change, as HGETALL does (field, value, ...)
]]

if tonumber(ARGV[1]) > 0 then redis.call("HSETNX", KEYS[1], ARGV[1], ARGV[2]) end
local legacy = "0"
for i = 2, #KEYS do
  if redis.call("EXISTS", KEYS[i]) == 1 then
    legacy = "1"
    break
  end
end
redis.call("HSET", KEYS[1], "legacy", legacy)
return redis.call("HGETALL", KEYS[1])
