import { SchedulerError } from '@openpenpal/errors';
import type { TickerKeys } from '../redis/keys.ts';
import type { TickerScripts } from '../redis/scripts.ts';
import type { LeaseBackend } from './lease.ts';

/**
 * Where fencing tokens come from when Redis's own counter is not trusted with them: a store whose
 * acknowledged writes a Redis failover cannot roll back (PostgreSQL: `postgres-tokens.ts`).
 */
export interface FencingTokenSource {
  /**
   * A token above `floor` and above every token this source handed out for `lease` before,
   * durable before it resolves.
   */
  next(lease: string, floor: number): Promise<number>;
}

type AcquireResult = Awaited<ReturnType<LeaseBackend['acquire']>>;

function unexpected(reply: unknown): SchedulerError {
  return new SchedulerError('INTERNAL', 'unexpected reply from the lease script', { details: { reply } });
}

function parseAcquire(reply: unknown): AcquireResult {
  if (!Array.isArray(reply)) throw unexpected(reply);
  if (reply[0] === 1) {
    return {
      acquired: true,
      token: Number(reply[1]),
      replaced: reply[2] === undefined ? undefined : String(reply[2]),
    };
  }
  if (reply[0] === 0) return { acquired: false, holder: String(reply[1]), remainingMs: Number(reply[2]) };
  if (reply[0] === -1) {
    // Only when another acquirer raised the counter between our look and our take; retried.
    throw new SchedulerError('CONFLICT', 'the fencing token is not above the highest token Redis has seen', {
      details: { counter: Number(reply[1]) },
    });
  }
  throw unexpected(reply);
}

/**
 * The leader lease in Redis: a key with a TTL holding `<owner>:<token>`. The fencing token is the
 * Redis counter's INCR, or, with `tokens`, one taken from that source above the counter — so that
 * a failover to a replica that missed the last acquisitions cannot hand a token out twice.
 * Renewal and release are Redis-only either way: the fenced scripts compare the lease value.
 */
export function createRedisLeaseBackend(
  scripts: TickerScripts,
  keys: TickerKeys,
  tokens?: FencingTokenSource,
): LeaseBackend {
  return {
    acquire: async (owner, ttlMs, takeOverFrom) => {
      const instance = takeOverFrom ?? '';
      if (!tokens) {
        return parseAcquire(await scripts.acquireLease([keys.lease, keys.fence], [owner, ttlMs, instance]));
      }
      // Look first, so that standbys retrying against a live leader take no tokens.
      const state = await scripts.leaseState([keys.lease, keys.fence], [instance]);
      if (!Array.isArray(state)) throw unexpected(state);
      if (state[0] !== 1) return parseAcquire(state);
      const counter = Number(state[1]);
      const token = await tokens.next(keys.lease, counter);
      const result = parseAcquire(
        await scripts.acquireLease([keys.lease, keys.fence], [owner, ttlMs, instance, String(token)]),
      );
      return result.acquired && token > counter + 1 ? { ...result, counterBehind: counter } : result;
    },
    renew: async (value, ttlMs) => (await scripts.renewLease([keys.lease], [value, ttlMs])) === 1,
    release: async (value) => (await scripts.releaseLease([keys.lease], [value])) === 1,
  };
}
