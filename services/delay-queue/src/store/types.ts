import type { SchedulerError } from '@openpenpal/errors';
import type { Clock as TimingClock } from '@openpenpal/timing';
import type { Redis } from 'ioredis';
import type { DelayStoreKeys } from './keys.ts';
import type { RedisClient } from './scripts.ts';

/** The store reads the time only (`@openpenpal/timing`'s clock). */
export type Clock = Pick<TimingClock, 'now'>;

export interface DelayItem {
  /** The idempotency key (the delayed-message id). */
  id: string;
  /** When it falls due, epoch ms (UTC). */
  dueAt: number;
  /** The already-encoded message (target topic, key, headers, payload); the store never reads it. */
  record: Buffer;
  /**
   * What to do when the id has not fired yet: `keep` (the default) leaves it as it is, `replace`
   * puts this due time and record in its place (behind a copy in flight: see lua/schedule.lua).
   */
  ifPending?: IfPending;
}

export type IfPending = 'keep' | 'replace';

/**
 * What `schedule` did (lua/schedule.lua has the table by state and mode). `scheduled`: the id was
 * unknown or cancelled and is now pending (or waits behind a cancelled copy in flight).
 * `rescheduled`: a replace took effect (on the pending item, or as the replacement waiting behind
 * a copy in flight). `duplicate`: the pending item (or the waiting replacement) is kept.
 * `in_flight`: a dispatcher is publishing the id and the request changed nothing.
 * `already_fired`: the id fired within the marker TTL; nothing is scheduled.
 */
export type ScheduleOutcome = 'scheduled' | 'rescheduled' | 'duplicate' | 'in_flight' | 'already_fired';

/**
 * What `cancel` did. `in_flight`: a dispatcher holds the item; it will not be dispatched again
 * (a release or an expired claim drops it), but the publish under way may still land.
 */
export type CancelOutcome = 'cancelled' | 'in_flight' | 'already_fired' | 'not_found';

/** One request of a batch (`applyBatch`): applied in the batch's order. */
export type StoreRequest = { kind: 'schedule'; item: DelayItem } | { kind: 'cancel'; id: string };

/** What one request of a batch did, or why the store refused it (then nothing of it was applied). */
export type StoreRequestResult =
  | { kind: 'schedule'; outcome: ScheduleOutcome }
  | { kind: 'cancel'; outcome: CancelOutcome }
  | { kind: 'invalid'; error: SchedulerError };

/** Proof of a claim: acks and releases only take effect while the token is still current. */
export interface Claim {
  id: string;
  token: string;
}

export interface ClaimedItem extends Claim {
  dueAt: number;
  record: Buffer;
  /** How often the item has been claimed, this claim included. */
  attempts: number;
  /** The previous claim expired without an ack: a dispatcher crashed or stalled. */
  redelivered: boolean;
  /**
   * How often the id's message was replaced after an earlier copy may have reached the target;
   * 0 for most. The dispatcher derives a message-id of its own from it, so consumers that drop
   * duplicates by message-id do not drop a replacement.
   */
  generation: number;
}

interface ClaimOptions {
  /** At most this many items (1 to MAX_CLAIM_LIMIT). */
  limit: number;
  /** How long the claim holds before another `claimDue` may take the items again. */
  visibilityMs: number;
}

interface AckResult {
  acked: number;
  /** Ids whose claim was no longer current (expired and claimed again, or acked before). */
  stale: string[];
}

interface ReleaseResult {
  /** Back to pending at their due time (or their replacement at its own). */
  released: number;
  /** Cancelled while in flight, so removed instead. */
  dropped: number;
  stale: string[];
}

interface StoreStats {
  /** Items waiting for their due time, replacements waiting behind a copy in flight included. */
  pending: number;
  inFlight: number;
}

export interface WakeupSubscription {
  /** Unsubscribes; safe to call twice. Does not close the subscriber connection. */
  close(): Promise<void>;
}

export interface DelayStoreOptions {
  redis: RedisClient;
  /** Names this store's keys: `{prefix}:…` (the braces make it a Redis Cluster hash tag). */
  prefix: string;
  clock: Clock;
  /** How long a fired id is remembered, so a late duplicate request is not scheduled again. */
  firedTtlMs?: number;
  /** Whether `close()` also closes `redis`; by default the caller owns the client. */
  ownsRedis?: boolean;
}

export interface DelayStore {
  readonly keys: DelayStoreKeys;
  schedule(item: DelayItem): Promise<ScheduleOutcome>;
  cancel(id: string): Promise<CancelOutcome>;
  /**
   * Applies schedule and cancel requests in their order, in one Redis call per MAX_BATCH_REQUESTS
   * (one script run): each request as `schedule` or `cancel` would, so requests for one id take
   * effect in order. A request the store refuses (invalid id, due time or mode) is reported as
   * `invalid` and skipped; the others still apply. A Redis failure rejects the whole call
   * (DEPENDENCY_UNAVAILABLE); part of the batch may have been applied, so a caller retries it all,
   * which is safe because every request is idempotent per id and applied in order again.
   */
  applyBatch(requests: readonly StoreRequest[]): Promise<StoreRequestResult[]>;
  /** Claims due items (and items whose claim expired) at `clock.now()`, earliest due first. */
  claimDue(options: ClaimOptions): Promise<ClaimedItem[]>;
  /** Call after the publish was acknowledged; writes the fired markers. */
  ack(claims: readonly Claim[]): Promise<AckResult>;
  /** Call when the publish failed; the items fall due again at their own due time. */
  /**
   * Gives claims back: pending again at their due time, or at `notBefore` (epoch ms) when later —
   * a target that is not taking messages now is tried again then, without holding others back.
   */
  release(claims: readonly Claim[], notBefore?: number): Promise<ReleaseResult>;
  /** Removes claimed items for good without firing them (rejected: their target never took them). */
  drop(claims: readonly Claim[]): Promise<{ dropped: number; stale: string[] }>;
  /**
   * Whether each id is known here (pending, in flight, or fired within the marker TTL), in one read
   * (MAX_BATCH_REQUESTS ids per script run): where a sharded store looks for an id stored under an
   * earlier shard count.
   */
  known(ids: readonly string[]): Promise<boolean[]>;
  /** The earliest due time or claim expiry, epoch ms; null when the store is empty. */
  nextDueAt(): Promise<number | null>;
  /**
   * Calls `onWake(earliest)` whenever a schedule or release moves the earliest wake-up time
   * earlier. `subscriber` must be a connection of its own (it enters subscriber mode) and carry
   * only this subscription. Delivery is best effort (pub/sub is lost while disconnected), so a
   * dispatcher should still cap its sleep. `onWake` must not throw.
   */
  subscribeWakeups(subscriber: Redis, onWake: (earliest: number) => void): Promise<WakeupSubscription>;
  stats(): Promise<StoreStats>;
  /** Ends wake-up subscriptions (and the client when `ownsRedis`); safe to call twice. */
  close(): Promise<void>;
}
