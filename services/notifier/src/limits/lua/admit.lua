-- Admits one notification past its type's minimum interval and the user's rate limit, or says
-- how long it must wait. A notification admitted once is admitted again without counting (a
-- redelivered request), so retries never eat into the limits.
--
-- KEYS[1] admitted marker of this notification ({prefix}:admitted:<notification id>)
-- KEYS[2] the user's interval holder for the type ({prefix}:interval:<type>:<user>)
-- KEYS[3] the user's counter for the current window ({prefix}:rate:<user>:<window index>)
-- ARGV[1] notification id
-- ARGV[2] the type's minimum interval, ms (0 = none)
-- ARGV[3] notifications per user per window (0 = no limit)
-- ARGV[4] window length, ms (the counter's lifetime)
-- ARGV[5] lifetime of the admitted marker, ms
-- Returns {0, 0} admitted; {1, wait ms} held by the minimum interval; {2, wait ms} held by the rate limit

local id = ARGV[1]
local interval = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local window = tonumber(ARGV[4])

if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, 0}
end
if interval > 0 then
  local holder = redis.call('GET', KEYS[2])
  if holder and holder ~= id then
    return {1, math.max(redis.call('PTTL', KEYS[2]), 1)}
  end
end
if limit > 0 then
  local count = tonumber(redis.call('GET', KEYS[3]) or '0')
  if count >= limit then
    return {2, math.max(redis.call('PTTL', KEYS[3]), 1)}
  end
  if redis.call('INCR', KEYS[3]) == 1 then
    redis.call('PEXPIRE', KEYS[3], window)
  end
end
if interval > 0 then
  redis.call('SET', KEYS[2], id, 'PX', interval)
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[5])
return {0, 0}
