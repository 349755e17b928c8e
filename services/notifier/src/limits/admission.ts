import { SchedulerError } from '@openpenpal/errors';
import { keySpace, loadLuaScripts, type RedisClient } from '@openpenpal/redis';

export interface AdmissionOptions {
  redis: RedisClient;
  prefix: string;
  /** Least time between two notifications of a type to one user, ms, by type. */
  minIntervals: Readonly<Record<string, number>>;
  /** Notifications per user per window; 0 turns the limit off. */
  userLimit: number;
  windowMs: number;
}

type Admission =
  { admitted: true } | { admitted: false; reason: 'min_interval' | 'user_rate'; until: number };

export interface Admissions {
  admit(input: { notificationId: string; userId: string; type: string; now: number }): Promise<Admission>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Per-type minimum intervals and the per-user rate limit, one Lua script per decision. */
export function createAdmissions(options: AdmissionOptions): Admissions {
  const keys = keySpace(options.prefix);
  const scripts = loadLuaScripts(options.redis, {
    dir: new URL('./lua/', import.meta.url),
    namespace: 'notifier',
    scripts: { admit: { file: 'admit', numberOfKeys: 3 } },
  });
  const markerTtl = Math.max(2 * DAY_MS, ...Object.values(options.minIntervals), options.windowMs) + DAY_MS;
  return {
    admit: async ({ notificationId, userId, type, now }) => {
      const interval = options.minIntervals[type] ?? 0;
      const windowIndex = Math.floor(now / options.windowMs);
      let result: unknown;
      try {
        result = await scripts.admit(
          [
            keys.key('admitted', notificationId),
            keys.key('interval', type, userId),
            keys.key('rate', userId, windowIndex),
          ],
          [notificationId, interval, options.userLimit, options.windowMs, markerTtl],
        );
      } catch (error) {
        throw new SchedulerError('DEPENDENCY_UNAVAILABLE', 'Redis refused the rate-limit check', {
          cause: error,
        });
      }
      const [verdict, waitMs] = result as [number, number];
      if (verdict === 0) return { admitted: true };
      if (verdict === 1) return { admitted: false, reason: 'min_interval', until: now + waitMs };
      // The window ends at a fixed instant, whatever the counter's TTL says.
      return {
        admitted: false,
        reason: 'user_rate',
        until: Math.max(now + 1, (windowIndex + 1) * options.windowMs),
      };
    },
  };
}
