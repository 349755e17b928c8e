// Every Redis state change of the ticker is one of these scripts, run atomically by Redis. Key
// names come from keys.ts. "Fenced" scripts first compare the lease with the caller's lease value
// (`<owner>:<token>`) and change nothing when another leader (a newer token) holds it.

export const ACQUIRE_LEASE = `
-- Takes the leader lease when nobody holds it, under a new fencing token.
-- KEYS[1] lease, KEYS[2] fencing-token counter
-- ARGV[1] owner id, ARGV[2] ttl ms
-- Returns {1, token} when acquired; {0, holder's lease value, remaining ttl ms} when held.
local holder = redis.call('GET', KEYS[1])
if holder then
  return {0, holder, redis.call('PTTL', KEYS[1])}
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return {1, token}
`;

export const RENEW_LEASE = `
-- Extends the lease, only for its holder.
-- KEYS[1] lease
-- ARGV[1] the caller's lease value, ARGV[2] ttl ms
-- Returns 1 when renewed, 0 when the caller no longer holds the lease.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

export const RELEASE_LEASE = `
-- Gives the lease up, only for its holder, so a standby can take over without waiting for the TTL.
-- KEYS[1] lease
-- ARGV[1] the caller's lease value
-- Returns 1 when released, 0 when the caller did not hold it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

export const BEGIN_FIRE = `
-- Fenced. Before triggers are sent: records that a fire is in flight (a successor reconciles the
-- window against Kafka) and checks the running slot of tasks that forbid overlapping runs.
-- KEYS[1] lease, KEYS[2] inflight marker, KEYS[3] running hash
-- ARGV[1] the caller's lease value, ARGV[2] now ms, ARGV[3] inflight marker JSON,
-- ARGV[4..] pairs task_id, execution_id of forbid-policy tasks about to fire
-- Returns -1 when fenced out; else a flat list {task_id, running execution_id, ...} of refused tasks.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[2], ARGV[3])
local now = tonumber(ARGV[2])
local refused = {}
for i = 4, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[3], ARGV[i])
  if current then
    local sep = string.find(current, '|', 1, true)
    local holder = string.sub(current, 1, sep - 1)
    if holder ~= ARGV[i + 1] and tonumber(string.sub(current, sep + 1)) > now then
      refused[#refused + 1] = ARGV[i]
      refused[#refused + 1] = holder
    end
  end
end
return refused
`;

export const COMMIT_FIRE = `
-- Fenced. After Kafka acknowledged the triggers and events: writes checkpoints, marks started
-- forbid-policy executions as running (unless they already finished), records applied run_now
-- executions, and clears the inflight marker.
-- KEYS[1] lease, KEYS[2] checkpoints, KEYS[3] inflight marker, KEYS[4] running, KEYS[5] finished,
-- KEYS[6] commands done
-- ARGV[1] the caller's lease value, ARGV[2] now ms, ARGV[3] keep done commands ms,
-- ARGV[4] 1 to clear the inflight marker, ARGV[5] n checkpoint writes, ARGV[6] d checkpoint
-- deletes, ARGV[7] r running marks, ARGV[8] c done executions, then: n pairs task_id, value;
-- d task_ids; r triples task_id, execution_id, deadline ms; c execution ids
-- Returns 1, or -1 when fenced out.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local now = tonumber(ARGV[2])
local n, d, r, c = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local i = 9
for _ = 1, n do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for _ = 1, d do
  redis.call('HDEL', KEYS[2], ARGV[i])
  redis.call('HDEL', KEYS[4], ARGV[i])
  redis.call('HDEL', KEYS[5], ARGV[i])
  i = i + 1
end
for _ = 1, r do
  if redis.call('HGET', KEYS[5], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[5], ARGV[i])
  else
    redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1] .. '|' .. ARGV[i + 2])
  end
  i = i + 3
end
for _ = 1, c do
  redis.call('ZADD', KEYS[6], now, ARGV[i])
  i = i + 1
end
if c > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now - tonumber(ARGV[3]))
end
if ARGV[4] == '1' then redis.call('DEL', KEYS[3]) end
return 1
`;

export const SET_PAUSE = `
-- Fenced. Stores the global pause state, so it survives restarts and leader changes.
-- KEYS[1] lease, KEYS[2] pause
-- ARGV[1] the caller's lease value, ARGV[2] pause state JSON
-- Returns 1, or -1 when fenced out.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`;

export const FINISH_RUNNING = `
-- Not fenced (any replica may apply it, and applying it twice is harmless): an execution of a
-- forbid-policy task finished. Frees the task's running slot when that execution holds it;
-- otherwise remembers it as finished, so that a running mark written after this (the trigger's
-- commit racing a fast handler) is not left behind.
-- KEYS[1] running, KEYS[2] finished
-- ARGV[1] task_id, ARGV[2] execution_id
-- Returns 1 when the slot was freed, 0 when the execution was only remembered.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and string.sub(current, 1, #ARGV[2] + 1) == ARGV[2] .. '|' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 0
`;
