--[[
  Gives claimed items back without firing them (their publish failed, or their target is not taking
  messages now): each returns to pending at its own due time, or at ARGV[2] when that is later (a
  target backing off), keeping its attempt count, unless a replacement waits behind it, which then
  takes its place. Items cancelled while in flight are dropped instead. Items whose claim token no
  longer matches are left alone.

  KEYS[1]  pending       zset  id -> dueAt
  KEYS[2]  inflight      zset  id -> claim expiry
  KEYS[3]  items         hash  id -> item value
  KEYS[4]  replacements  hash  id -> item value waiting behind the copy in flight

  ARGV[1]  wake channel
  ARGV[2]  not before, epoch ms (0: each item's own due time)
  ARGV[3], ARGV[4], ...  id, token pairs

  Returns an array with one entry per pair: 1 released (pending again: the item or its
          replacement), 2 dropped (cancelled), 0 stale
  Publishes the new earliest wake-up time on ARGV[1] when it moved earlier.
]]
-- @include item

local before = earliestWake(KEYS[1], KEYS[2])
local notBefore = tonumber(ARGV[2])
local results = {}
for i = 3, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local value = redis.call("HGET", KEYS[3], id)
  local item = value and redis.call("ZSCORE", KEYS[2], id) and decodeItem(value)
  local outcome = 0
  if item and item.token == token then
    redis.call("ZREM", KEYS[2], id)
    if redis.call("HEXISTS", KEYS[4], id) == 1 then
      redis.call("HDEL", KEYS[3], id)
      promoteReplacement(KEYS[1], KEYS[3], KEYS[4], id)
      outcome = 1
    elseif item.cancelled then
      redis.call("HDEL", KEYS[3], id)
      outcome = 2
    else
      item.token = ""
      redis.call("HSET", KEYS[3], id, encodeItem(item))
      redis.call("ZADD", KEYS[1], math.max(tonumber(item.due), notBefore), id)
      outcome = 1
    end
  end
  results[#results + 1] = outcome
end
wakeIfEarlier(ARGV[1], before, earliestWake(KEYS[1], KEYS[2]))
return results
