import { keySpace } from '@openpenpal/redis';
import type { Redis } from 'ioredis';

export interface TickerState {
  leader: { instance: string; fencing_token: number; lease_expires_in_ms: number } | null;
  paused: boolean;
  paused_since: string | null;
  paused_by: string | null;
  /** The oldest last-fired nominal time among the ticker's checkpoints (its progress), if any. */
  checkpoints: Map<string, number>;
}

/**
 * The ticker's state as it keeps it in Redis (`API_TICKER_REDIS_PREFIX`, its key module's names:
 * `lease` = `<owner>:<token>` with a TTL, `pause` = JSON, `checkpoints` = task_id →
 * `<last nominal ms>|<run count>|<off>`). Read only: pause and resume go to the ticker as commands.
 */
export function createTickerReads(redis: Redis, prefix: string) {
  const space = keySpace(prefix);
  const keys = {
    lease: space.key('lease'),
    pause: space.key('pause'),
    checkpoints: space.key('checkpoints'),
  };
  return {
    state: async (): Promise<TickerState> => {
      const [lease, ttl, pause, checkpoints] = await Promise.all([
        redis.get(keys.lease),
        redis.pttl(keys.lease),
        redis.get(keys.pause),
        redis.hgetall(keys.checkpoints),
      ]);
      let leader: TickerState['leader'] = null;
      if (lease !== null) {
        const at = lease.lastIndexOf(':');
        leader = {
          instance: lease.slice(0, at),
          fencing_token: Number(lease.slice(at + 1)),
          lease_expires_in_ms: Math.max(0, ttl),
        };
      }
      let paused = false;
      let since: string | null = null;
      let by: string | null = null;
      if (pause !== null) {
        try {
          const parsed = JSON.parse(pause) as { paused?: unknown; since?: unknown; by?: unknown };
          paused = parsed.paused === true;
          if (paused && typeof parsed.since === 'number') since = new Date(parsed.since).toISOString();
          if (paused && typeof parsed.by === 'string') by = parsed.by;
        } catch {
          paused = false;
        }
      }
      const fired = new Map<string, number>();
      for (const [taskId, value] of Object.entries(checkpoints)) {
        const last = Number(value.split('|')[0]);
        if (Number.isFinite(last) && last > 0) fired.set(taskId, last);
      }
      return { leader, paused, paused_since: since, paused_by: by, checkpoints: fired };
    },
  };
}

export type TickerReads = ReturnType<typeof createTickerReads>;
