import { SchedulerError } from '@openpenpal/errors';
import type { Redis } from 'ioredis';
import type { TickerKeys } from './keys.ts';
import type { LeaseBackend } from './lease.ts';
import { ACQUIRE_LEASE, RELEASE_LEASE, RENEW_LEASE } from './lua.ts';
import { redisScript } from './redis-script.ts';

/** The leader lease in Redis: a key with a TTL holding `<owner>:<token>`, the token from INCR. */
export function createRedisLeaseBackend(redis: Redis, keys: TickerKeys): LeaseBackend {
  const acquire = redisScript(redis, ACQUIRE_LEASE);
  const renew = redisScript(redis, RENEW_LEASE);
  const release = redisScript(redis, RELEASE_LEASE);
  return {
    acquire: async (owner, ttlMs) => {
      const reply = await acquire.run([keys.lease, keys.fence], [owner, ttlMs]);
      if (!Array.isArray(reply)) {
        throw new SchedulerError('INTERNAL', 'unexpected reply from the lease script', {
          details: { reply },
        });
      }
      if (reply[0] === 1) return { acquired: true, token: Number(reply[1]) };
      return { acquired: false, holder: String(reply[1]), remainingMs: Number(reply[2]) };
    },
    renew: async (value, ttlMs) => (await renew.run([keys.lease], [value, ttlMs])) === 1,
    release: async (value) => (await release.run([keys.lease], [value])) === 1,
  };
}
