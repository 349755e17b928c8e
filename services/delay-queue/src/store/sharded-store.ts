import { keyPartition } from '@openpenpal/messaging';
import { loadLuaScripts } from '@openpenpal/redis';
import { MAX_ID_LENGTH, createDelayStore } from './delay-store.ts';
import { delayStoreKeys, layoutKey, shardPrefix } from './keys.ts';
import { storeError } from './redis-errors.ts';
import type { RedisClient } from './scripts.ts';
import type {
  CancelOutcome,
  Clock,
  DelayItem,
  DelayStore,
  ScheduleOutcome,
  StoreRequest,
  StoreRequestResult,
} from './types.ts';

const DEFAULT_FIRED_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** Where an id lives: a shard's number, or the store's unsharded keys from before sharding. */
export type ShardRef = number | 'legacy';

export interface ShardLayout {
  /** Every shard count replicas have used, ascending; the largest is the one new ids are stored under. */
  counts: number[];
  /** The unsharded keys (`{prefix}:…`, written before sharding) still hold items or fired markers. */
  legacy: boolean;
}

export interface ShardedStoreOptions {
  redis: RedisClient;
  /** Shard `s` keys are `{prefix:s<s>}:…`; the unsharded keys `{prefix}:…` are drained and looked up. */
  prefix: string;
  clock: Clock;
  firedTtlMs?: number;
  /** The shard count this replica starts with: the request topic's partition count. */
  shardCount: number;
}

export interface ShardedDelayStore {
  readonly prefix: string;
  /** The layout as last read (at open and by `refreshLayout`). */
  layout(): ShardLayout;
  /** The shard new ids are stored in: the request topic's partition of the id at the current count. */
  shardOf(id: string): number;
  /** One shard's store (claims, acks and wake-ups of its dispatcher). */
  shard(ref: ShardRef): DelayStore;
  /** Records `count` (when the request topic grew) and reads the layout again. */
  refreshLayout(count?: number): Promise<ShardLayout>;
  /**
   * As `DelayStore.applyBatch`, each request applied in the shard where its id lives: the shard of
   * the current count, unless the id is known in the shard of an earlier count or in the unsharded
   * keys (looked up first, in one read per shard asked, only while such a layout exists).
   */
  applyBatch(requests: readonly StoreRequest[]): Promise<StoreRequestResult[]>;
  schedule(item: DelayItem): Promise<ScheduleOutcome>;
  cancel(id: string): Promise<CancelOutcome>;
  /** Summed over every shard and the unsharded keys. */
  stats(): Promise<{ pending: number; inFlight: number }>;
  /** Closes every shard's store (wake-up subscriptions); the client stays open. Safe to call twice. */
  close(): Promise<void>;
}

function parseLayout(flat: string[]): ShardLayout {
  const counts: number[] = [];
  let legacy = false;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i] ?? '';
    if (field === 'legacy') legacy = flat[i + 1] === '1';
    else if (/^[1-9]\d*$/.test(field)) counts.push(Number(field));
  }
  return { counts: counts.sort((a, b) => a - b), legacy };
}

/** The layout of a sharded store, read only (the admin API's views). */
export async function readShardLayout(redis: RedisClient, prefix: string): Promise<ShardLayout> {
  const fields = await redis.hgetall(layoutKey(prefix));
  return parseLayout(Object.entries(fields).flat());
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 1 || count > 100_000) {
    throw new TypeError(`a shard count must be an integer from 1 to 100000, got ${count}`);
  }
}

/**
 * The delay store split into shards by the request topic's partition of each id (Kafka's default
 * partitioner, `keyPartition`), so the replica that consumes partition p writes shard p and schedule
 * and cancel of one id meet in one shard. Each shard is a `createDelayStore` under a hash tag of its
 * own. Ids stored under an earlier shard count, and in the unsharded keys of a store written before
 * sharding, stay where they are: a request for such an id is applied there.
 */
export async function openShardedStore(options: ShardedStoreOptions): Promise<ShardedDelayStore> {
  const { redis, prefix, clock } = options;
  const firedTtlMs = options.firedTtlMs ?? DEFAULT_FIRED_TTL_MS;
  checkCount(options.shardCount);
  const legacyKeys = delayStoreKeys(prefix, firedTtlMs);
  const scripts = loadLuaScripts(redis, {
    dir: new URL('./lua/', import.meta.url),
    namespace: 'dqShards',
    scripts: { layout: { file: 'layout', numberOfKeys: 5 + legacyKeys.firedLookup(0).length } },
  });
  const stores = new Map<ShardRef, DelayStore>();
  const storeOf = (ref: ShardRef): DelayStore => {
    let store = stores.get(ref);
    if (!store) {
      store = createDelayStore({
        redis,
        prefix: ref === 'legacy' ? prefix : shardPrefix(prefix, ref),
        clock,
        firedTtlMs,
      });
      stores.set(ref, store);
    }
    return store;
  };
  let layout: ShardLayout = { counts: [options.shardCount], legacy: false };
  let current = options.shardCount;
  let closing: Promise<void> | undefined;

  const refreshLayout = async (count = 0): Promise<ShardLayout> => {
    if (count !== 0) checkCount(count);
    const now = clock.now();
    let flat: string[];
    try {
      flat = (await scripts.layout(
        [
          layoutKey(prefix),
          legacyKeys.pending,
          legacyKeys.inFlight,
          legacyKeys.items,
          legacyKeys.replacements,
          ...legacyKeys.firedLookup(now),
        ],
        [count, now],
      )) as string[];
    } catch (error) {
      throw storeError('layout', error);
    }
    layout = parseLayout(flat);
    current = Math.max(...layout.counts, count, options.shardCount);
    return layout;
  };

  const shardOf = (id: string): number => keyPartition(id, current);

  /** Where each id of the batch lives: an earlier layout's shard that knows it, else its shard now. */
  const route = async (ids: readonly string[]): Promise<Map<string, ShardRef>> => {
    const routes = new Map<string, ShardRef>();
    const earlier = layout.counts.filter((count) => count !== current);
    const asks = new Map<ShardRef, string[]>();
    const candidates = new Map<string, ShardRef[]>();
    for (const id of ids) {
      if (routes.has(id)) continue;
      const home = shardOf(id);
      routes.set(id, home);
      // An id the store would refuse is not looked up: it goes home and is refused there.
      if (id.length === 0 || id.length > MAX_ID_LENGTH) continue;
      const refs = new Set<ShardRef>(earlier.map((count) => keyPartition(id, count)));
      refs.delete(home);
      if (layout.legacy) refs.add('legacy');
      if (refs.size === 0) continue;
      candidates.set(id, [...refs]);
      for (const ref of refs) {
        const asked = asks.get(ref);
        if (asked) asked.push(id);
        else asks.set(ref, [id]);
      }
    }
    if (asks.size === 0) return routes;
    const answers = new Map<ShardRef, Set<string>>();
    await Promise.all(
      [...asks].map(async ([ref, asked]) => {
        const known = await storeOf(ref).known(asked);
        answers.set(ref, new Set(asked.filter((_, index) => known[index])));
      }),
    );
    for (const [id, refs] of candidates) {
      const found = refs.find((ref) => answers.get(ref)?.has(id));
      if (found !== undefined) routes.set(id, found);
    }
    return routes;
  };

  const requestId = (request: StoreRequest): string =>
    request.kind === 'schedule' ? request.item.id : request.id;

  const applyBatch = async (requests: readonly StoreRequest[]): Promise<StoreRequestResult[]> => {
    const routes = await route(requests.map(requestId).filter((id) => typeof id === 'string'));
    const groups = new Map<ShardRef, { index: number; request: StoreRequest }[]>();
    requests.forEach((request, index) => {
      const id = requestId(request);
      const ref = (typeof id === 'string' ? routes.get(id) : undefined) ?? 0;
      const group = groups.get(ref);
      if (group) group.push({ index, request });
      else groups.set(ref, [{ index, request }]);
    });
    const results: StoreRequestResult[] = new Array<StoreRequestResult>(requests.length);
    // Shards are independent (one id is in one shard), so their scripts run side by side.
    await Promise.all(
      [...groups].map(async ([ref, group]) => {
        const replies = await storeOf(ref).applyBatch(group.map(({ request }) => request));
        group.forEach(({ index }, position) => {
          const reply = replies[position];
          if (reply) results[index] = reply;
        });
      }),
    );
    return results;
  };

  const single = async (request: StoreRequest): Promise<Exclude<StoreRequestResult, { kind: 'invalid' }>> => {
    const [result] = await applyBatch([request]);
    if (!result) throw new Error('delay store returned no result');
    if (result.kind === 'invalid') throw result.error;
    return result;
  };

  await refreshLayout(options.shardCount);

  return {
    prefix,
    layout: () => layout,
    shardOf,
    shard: storeOf,
    refreshLayout,
    applyBatch,
    schedule: async (item) => (await single({ kind: 'schedule', item })).outcome as ScheduleOutcome,
    cancel: async (id) => (await single({ kind: 'cancel', id })).outcome as CancelOutcome,
    stats: async () => {
      const shards = Math.max(...layout.counts, current);
      const all = await Promise.all(
        [...Array.from({ length: shards }, (_, shard) => shard), 'legacy' as const].map((ref) =>
          storeOf(ref).stats(),
        ),
      );
      return all.reduce((sum, one) => ({
        pending: sum.pending + one.pending,
        inFlight: sum.inFlight + one.inFlight,
      }));
    },
    close: () =>
      (closing ??= (async () => {
        await Promise.allSettled([...stores.values()].map((store) => store.close()));
      })()),
  };
}
