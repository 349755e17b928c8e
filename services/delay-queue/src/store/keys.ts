/**
 * Every Redis key and channel name the delay store uses. The whole prefix is the hash tag
 * (`{prefix}:…`), so all of one store's keys live in one Redis Cluster slot and a Lua script may
 * touch any of them.
 */

/**
 * Fired markers live in time buckets (one set per bucket, expired as a whole) rather than one key
 * with a TTL per id: a set member costs about 96 bytes, a string key with an expiry about 149
 * (measured on Redis 7.0). The TTL is split into this many buckets, so a marker lives between
 * `firedTtlMs` and `firedTtlMs * (1 + 1 / FIRED_BUCKETS)`.
 */
export const FIRED_BUCKETS = 7;

/** How many bucket keys a lookup must check: every bucket that can still exist. */
export const FIRED_LOOKUP_KEYS = FIRED_BUCKETS + 1;

interface FiredBucketWrite {
  key: string;
  /** Epoch ms at which the whole bucket expires (PEXPIREAT). */
  expireAt: number;
}

export interface DelayStoreKeys {
  /** Sorted set: id → due time (epoch ms). Items waiting for their time. */
  pending: string;
  /** Sorted set: id → claim expiry (epoch ms). Items a dispatcher claimed and has not acked. */
  inFlight: string;
  /** Hash: id → item value (header line with due time and claim data, then the record). */
  items: string;
  /**
   * Hash: id → the replacement of an item that was in flight when a schedule asked to replace it
   * (same value format); it becomes the id's pending item once the copy in flight is settled.
   */
  replacements: string;
  /** Pub/sub channel announcing that the earliest wake-up time moved earlier. */
  wakeChannel: string;
  /** SCAN pattern matching every key of this store (fired buckets included). */
  pattern: string;
  /** The fired-marker bucket an ack at `now` writes into. */
  firedWrite(now: number): FiredBucketWrite;
  /** The FIRED_LOOKUP_KEYS bucket keys that may hold a marker written up to `firedTtlMs` before `now`. */
  firedLookup(now: number): string[];
}

function assertPrefix(prefix: string): void {
  // Braces inside the prefix would end the hash tag early and scatter keys across slots.
  if (prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new TypeError(`delay store prefix must be non-empty and free of braces, got "${prefix}"`);
  }
}

export function delayStoreKeys(prefix: string, firedTtlMs: number): DelayStoreKeys {
  assertPrefix(prefix);
  if (!Number.isSafeInteger(firedTtlMs) || firedTtlMs < FIRED_BUCKETS) {
    throw new TypeError(`firedTtlMs must be an integer of at least ${FIRED_BUCKETS}, got ${firedTtlMs}`);
  }
  const base = `{${prefix}}`;
  const width = Math.ceil(firedTtlMs / FIRED_BUCKETS);
  // The width is part of the name: after a TTL change, old buckets are never misread as new ones.
  const bucketKey = (index: number): string => `${base}:fired:${width}:${index}`;
  return {
    pending: `${base}:pending`,
    inFlight: `${base}:inflight`,
    items: `${base}:items`,
    replacements: `${base}:replacements`,
    wakeChannel: `${base}:wake`,
    pattern: `${base}:*`,
    firedWrite(now) {
      const index = Math.floor(now / width);
      return { key: bucketKey(index), expireAt: (index + 1) * width + firedTtlMs };
    },
    firedLookup(now) {
      // Bucket j expires at (j + 1) * width + ttl ≤ (j + 1 + FIRED_BUCKETS) * width, so only
      // buckets from index - FIRED_BUCKETS up can still exist.
      const index = Math.floor(now / width);
      return Array.from({ length: FIRED_LOOKUP_KEYS }, (_, offset) => bucketKey(index - offset));
    },
  };
}

/**
 * The prefix of shard `shard` of a sharded store: its keys are `{prefix:s<shard>}:…`, a hash tag of
 * their own, so shards spread over a Redis Cluster's nodes while each shard's scripts stay in one
 * slot. A shard's keys do not depend on the shard count: shard 3 is the same keys under 6 or 12.
 */
export function shardPrefix(prefix: string, shard: number): string {
  if (!Number.isSafeInteger(shard) || shard < 0) {
    throw new TypeError(`a shard number must be a non-negative integer, got ${shard}`);
  }
  return `${prefix}:s${shard}`;
}

/**
 * Hash of a sharded store's layout, in the slot of the store's unsharded (legacy) keys `{prefix}:…`
 * so one script reads both: field `<count>` → epoch ms a replica first used that shard count,
 * field `legacy` → `1` while the unsharded keys hold anything (items or fired markers), else `0`.
 */
export function layoutKey(prefix: string): string {
  assertPrefix(prefix);
  return `{${prefix}}:shard-counts`;
}

/** SCAN patterns matching every key of a sharded store: its unsharded keys and every shard's. */
export function storePatterns(prefix: string): string[] {
  assertPrefix(prefix);
  return [`{${prefix}}:*`, `{${prefix}:s*}:*`];
}
