import { randomBytes } from 'node:crypto';
import { SchedulerError } from '@openpenpal/errors';
import type { Redis } from 'ioredis';
import { delayStoreKeys } from './keys.ts';
import { storeError } from './redis-errors.ts';
import { defineStoreScripts, type ClaimReply } from './scripts.ts';
import type {
  CancelOutcome,
  Claim,
  ClaimedItem,
  DelayItem,
  DelayStore,
  DelayStoreOptions,
  IfPending,
  ScheduleOutcome,
  StoreRequest,
  StoreRequestResult,
  WakeupSubscription,
} from './types.ts';

const DEFAULT_FIRED_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** Bounds one script's run time, which blocks the whole Redis server while it runs. */
export const MAX_CLAIM_LIMIT = 10_000;
/** Ids are hash fields and sorted-set members; a bound keeps a bad request from bloating both. */
export const MAX_ID_LENGTH = 256;
/** Most requests one `applyBatch` script run takes; a longer batch goes in several runs. */
export const MAX_BATCH_REQUESTS = 1_000;
/** A claim that outlives a day is a stuck dispatcher, not a slow publish. */
export const MAX_VISIBILITY_MS = 24 * 60 * 60 * 1000;

const SCHEDULE_OUTCOMES: readonly ScheduleOutcome[] = [
  'scheduled',
  'rescheduled',
  'duplicate',
  'in_flight',
  'already_fired',
];
const IF_PENDING: readonly IfPending[] = ['keep', 'replace'];
const CANCEL_OUTCOMES: readonly CancelOutcome[] = ['cancelled', 'in_flight', 'already_fired', 'not_found'];

/** Narrows a script's reply to its documented outcomes; anything else is a bug in a script. */
function outcome<T extends string>(operation: string, reply: string, allowed: readonly T[]): T {
  const found = allowed.find((candidate) => candidate === reply);
  if (found === undefined) {
    throw new SchedulerError('INTERNAL', `delay store ${operation}: unexpected script reply "${reply}"`);
  }
  return found;
}

function invalid(message: string, details: Record<string, unknown>): SchedulerError {
  return new SchedulerError('VALIDATION_FAILED', message, { details });
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw invalid(`delay item id must be a string of 1 to ${MAX_ID_LENGTH} characters`, { id });
  }
}

function checkItem(item: DelayItem): void {
  checkId(item.id);
  // Due times are kept as integer digits in Redis; fractions or negatives would not round-trip.
  if (!Number.isSafeInteger(item.dueAt) || item.dueAt < 0) {
    throw invalid('delay item dueAt must be a non-negative integer of epoch milliseconds', {
      id: item.id,
      dueAt: item.dueAt,
    });
  }
  if (!Buffer.isBuffer(item.record)) throw invalid('delay item record must be a Buffer', { id: item.id });
  if (item.ifPending !== undefined && !IF_PENDING.includes(item.ifPending)) {
    throw invalid('delay item ifPending must be keep or replace', { id: item.id, ifPending: item.ifPending });
  }
}

/** The store's own checks of one batch request: the error that refuses it, or undefined. */
function refusal(request: StoreRequest): SchedulerError | undefined {
  try {
    if (request.kind === 'schedule') checkItem(request.item);
    else checkId(request.id);
    return undefined;
  } catch (error) {
    if (error instanceof SchedulerError) return error;
    throw error;
  }
}

function requestArgs(request: StoreRequest): (string | number | Buffer)[] {
  if (request.kind === 'cancel') return ['cancel', request.id, '', '', ''];
  const { id, dueAt, record, ifPending = 'keep' } = request.item;
  return ['schedule', id, dueAt, record, ifPending];
}

function checkPositiveInteger(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalid(`${name} must be an integer from 1 to ${max}`, { [name]: value });
  }
}

function claimPairs(claims: readonly Claim[]): string[] {
  const pairs: string[] = [];
  for (const claim of claims) {
    checkId(claim.id);
    pairs.push(claim.id, claim.token);
  }
  return pairs;
}

function decodeClaims(reply: ClaimReply, token: string): ClaimedItem[] {
  const items: ClaimedItem[] = [];
  for (let i = 0; i + 5 < reply.length; i += 6) {
    const [id, dueAt, attempts, redelivered, generation, record] = reply.slice(i, i + 6) as [
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
      Buffer,
    ];
    items.push({
      id: id.toString('utf8'),
      token,
      dueAt: Number(dueAt.toString()),
      attempts: Number(attempts.toString()),
      redelivered: redelivered.toString() === '1',
      generation: Number(generation.toString()),
      record,
    });
  }
  return items;
}

/**
 * The Redis storage of the delay queue: pending items in a sorted set by due time, claimed items
 * in an in-flight sorted set by claim expiry, item values in one hash, replacements waiting behind
 * a copy in flight in another, fired markers in expiring time buckets. Every state change is one
 * Lua script (lua/*.lua); key names come from keys.ts.
 */
export function createDelayStore(options: DelayStoreOptions): DelayStore {
  const { redis, clock, ownsRedis = false } = options;
  const keys = delayStoreKeys(options.prefix, options.firedTtlMs ?? DEFAULT_FIRED_TTL_MS);
  const scripts = defineStoreScripts(redis);
  const subscriptions = new Set<WakeupSubscription>();
  let closing: Promise<void> | undefined;

  async function run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (closing) throw new SchedulerError('SHUTTING_DOWN', `delay store is closed (${operation})`);
    try {
      return await work();
    } catch (error) {
      throw storeError(operation, error);
    }
  }

  async function subscribeWakeups(
    subscriber: Redis,
    onWake: (earliest: number) => void,
  ): Promise<WakeupSubscription> {
    const listener = (channel: string, message: string): void => {
      if (channel === keys.wakeChannel) onWake(Number(message));
    };
    subscriber.on('message', listener);
    try {
      // Awaited, so no publish after this call returns can be missed.
      await run('subscribeWakeups', () => subscriber.subscribe(keys.wakeChannel));
    } catch (error) {
      subscriber.off('message', listener);
      throw error;
    }
    let done: Promise<void> | undefined;
    const subscription: WakeupSubscription = {
      close: () =>
        (done ??= (async () => {
          subscriptions.delete(subscription);
          subscriber.off('message', listener);
          // A subscriber that is already closed has no subscription left to end.
          if (subscriber.status === 'ready') await subscriber.unsubscribe(keys.wakeChannel);
        })()),
    };
    subscriptions.add(subscription);
    return subscription;
  }

  return {
    keys,
    schedule: async (item) => {
      checkItem(item);
      return run('schedule', async () =>
        outcome(
          'schedule',
          await scripts.schedule(keys, clock.now(), { ...item, ifPending: item.ifPending ?? 'keep' }),
          SCHEDULE_OUTCOMES,
        ),
      );
    },
    cancel: async (id) => {
      checkId(id);
      return run('cancel', async () =>
        outcome('cancel', await scripts.cancel(keys, clock.now(), id), CANCEL_OUTCOMES),
      );
    },
    applyBatch: async (requests) => {
      const results: (StoreRequestResult | undefined)[] = requests.map((request) => {
        const error = refusal(request);
        return error ? { kind: 'invalid', error } : undefined;
      });
      const valid = requests.flatMap((request, index) => (results[index] ? [] : [{ request, index }]));
      for (let start = 0; start < valid.length; start += MAX_BATCH_REQUESTS) {
        const chunk = valid.slice(start, start + MAX_BATCH_REQUESTS);
        const replies = await run('applyBatch', () =>
          scripts.applyRequests(
            keys,
            clock.now(),
            chunk.flatMap(({ request }) => requestArgs(request)),
          ),
        );
        chunk.forEach(({ request, index }, position) => {
          const reply = replies[position] ?? '';
          results[index] =
            request.kind === 'schedule'
              ? { kind: 'schedule', outcome: outcome('applyBatch', reply, SCHEDULE_OUTCOMES) }
              : { kind: 'cancel', outcome: outcome('applyBatch', reply, CANCEL_OUTCOMES) };
        });
      }
      return results as StoreRequestResult[];
    },
    claimDue: async ({ limit, visibilityMs }) => {
      checkPositiveInteger('limit', limit, MAX_CLAIM_LIMIT);
      checkPositiveInteger('visibilityMs', visibilityMs, MAX_VISIBILITY_MS);
      // One token per call: enough to tell this claim from any later claim of the same items.
      const token = randomBytes(9).toString('base64url');
      const now = clock.now();
      return run('claimDue', async () =>
        decodeClaims(await scripts.claimDue(keys, now, limit, now + visibilityMs, token), token),
      );
    },
    ack: async (claims) => {
      const pairs = claimPairs(claims);
      if (pairs.length === 0) return { acked: 0, stale: [] };
      const results = await run('ack', () => scripts.ack(keys, clock.now(), pairs));
      return {
        acked: results.filter((result) => result === 1).length,
        stale: claims.filter((_, index) => results[index] !== 1).map((claim) => claim.id),
      };
    },
    release: async (claims, notBefore = 0) => {
      const pairs = claimPairs(claims);
      if (pairs.length === 0) return { released: 0, dropped: 0, stale: [] };
      const results = await run('release', () => scripts.release(keys, notBefore, pairs));
      return {
        released: results.filter((result) => result === 1).length,
        dropped: results.filter((result) => result === 2).length,
        stale: claims.filter((_, index) => results[index] === 0).map((claim) => claim.id),
      };
    },
    drop: async (claims) => {
      const pairs = claimPairs(claims);
      if (pairs.length === 0) return { dropped: 0, stale: [] };
      const results = await run('drop', () => scripts.drop(keys, pairs));
      return {
        dropped: results.filter((result) => result === 1).length,
        stale: claims.filter((_, index) => results[index] !== 1).map((claim) => claim.id),
      };
    },
    known: async (ids) => {
      for (const id of ids) checkId(id);
      const found: boolean[] = [];
      for (let start = 0; start < ids.length; start += MAX_BATCH_REQUESTS) {
        const chunk = ids.slice(start, start + MAX_BATCH_REQUESTS);
        const replies = await run('known', () => scripts.known(keys, clock.now(), chunk));
        for (const reply of replies) found.push(reply === 1);
      }
      return found;
    },
    nextDueAt: () =>
      run('nextDueAt', async () => {
        // Read only, so no script: two reads sent back to back; a dispatcher treats the answer as a hint.
        const [pending, inFlight] = await Promise.all([
          redis.zrange(keys.pending, 0, 0, 'WITHSCORES'),
          redis.zrange(keys.inFlight, 0, 0, 'WITHSCORES'),
        ]);
        const heads = [pending[1], inFlight[1]].filter((score) => score !== undefined).map(Number);
        return heads.length === 0 ? null : Math.min(...heads);
      }),
    subscribeWakeups,
    stats: () =>
      run('stats', async () => {
        const [pending, replacements, inFlight] = await Promise.all([
          redis.zcard(keys.pending),
          redis.hlen(keys.replacements),
          redis.zcard(keys.inFlight),
        ]);
        return { pending: pending + replacements, inFlight };
      }),
    close: () =>
      (closing ??= (async () => {
        await Promise.allSettled([...subscriptions].map((subscription) => subscription.close()));
        // A client that already ended (closed elsewhere) has nothing left to quit.
        if (ownsRedis && redis.status !== 'end') await redis.quit();
      })()),
  };
}
