import { SchedulerError } from '@openpenpal/errors';
import type { TickerKeys } from '../redis/keys.ts';
import type { TickerScripts } from '../redis/scripts.ts';
import type { LeaseBackend } from './lease.ts';

/** The leader lease in Redis: a key with a TTL holding `<owner>:<token>`, the token from INCR. */
export function createRedisLeaseBackend(scripts: TickerScripts, keys: TickerKeys): LeaseBackend {
  return {
    acquire: async (owner, ttlMs, takeOverFrom) => {
      const reply = await scripts.acquireLease([keys.lease, keys.fence], [owner, ttlMs, takeOverFrom ?? '']);
      if (!Array.isArray(reply)) {
        throw new SchedulerError('INTERNAL', 'unexpected reply from the lease script', {
          details: { reply },
        });
      }
      if (reply[0] === 1) {
        return {
          acquired: true,
          token: Number(reply[1]),
          replaced: reply[2] === undefined ? undefined : String(reply[2]),
        };
      }
      return { acquired: false, holder: String(reply[1]), remainingMs: Number(reply[2]) };
    },
    renew: async (value, ttlMs) => (await scripts.renewLease([keys.lease], [value, ttlMs])) === 1,
    release: async (value) => (await scripts.releaseLease([keys.lease], [value])) === 1,
  };
}
