import { decodeRecord } from '@openpenpal/delay-queue/record';
import {
  delayStoreKeys,
  parseItemValue,
  readShardLayout,
  shardPrefix,
  type DelayStoreKeys,
} from '@openpenpal/delay-queue/store';
import type { Redis } from 'ioredis';

/** Keys of one delay store do not depend on the fired-marker TTL except the marker buckets, unused here. */
const ANY_FIRED_TTL_MS = 7 * 24 * 3_600_000;
/** Items read per HSCAN call, and at most this many per count (the answer says when it stopped early). */
const SCAN_COUNT = 1_000;
const MAX_COUNTED = 200_000;

interface DelayedMessageView {
  message_id: string;
  due_at: string;
  state: 'pending' | 'in_flight';
  attempts: number;
  target_topic: string | null;
  key: string | null;
}

interface DelayedCounts {
  pending: number;
  in_flight: number;
  /** Pending items whose due time has passed (the delay queue is behind or stopped). */
  overdue: number;
  by_topic: Record<string, number>;
  /** False when the store held more than the counted maximum: by_topic covers the first ones only. */
  complete: boolean;
}

interface Item {
  dueAt: number;
  attempts: number;
  topic: string | null;
  key: string | null;
}

/** An item value in any of the store's forms (its own reader), with the record's target. */
function parseItem(value: Buffer): Item | undefined {
  const stored = parseItemValue(value);
  if (stored === undefined) return undefined;
  let topic: string | null = null;
  let key: string | null = null;
  try {
    const record = decodeRecord(stored.record);
    topic = record.topic;
    key = record.key;
  } catch {
    // A record a newer version wrote: shown without its target.
  }
  return { dueAt: stored.dueAt, attempts: stored.attempts, topic, key };
}

export interface DelayedReads {
  counts(now: number): Promise<DelayedCounts>;
  /** Pending and in-flight totals only (two commands, no scan). */
  sizes(): Promise<{ pending: number; in_flight: number }>;
  /** The next due messages, earliest first. */
  nextDue(limit: number): Promise<DelayedMessageView[]>;
  /** Whether the store holds the id (pending or in flight). */
  exists(messageId: string): Promise<boolean>;
}

/** Merges lists sorted by score, keeping the first `limit` entries. */
function earliest(lists: { id: string; score: number; keys: DelayStoreKeys }[][], limit: number) {
  return lists
    .flat()
    .sort((a, b) => a.score - b.score)
    .slice(0, limit);
}

/**
 * Read-only view of the delay queue's Redis store (`API_DELAY_QUEUE_REDIS_PREFIX`), through the
 * delay queue's own key module and record format: every shard the store's layout names (one per
 * partition of its request topic, `{prefix:s<n>}:…`) and the unsharded keys of a store written
 * before sharding (`{prefix}:…`, drained by the delay queue). Changes go through Kafka (the delay
 * client), never into these keys.
 */
export function createDelayedReads(redis: Redis, prefix: string): DelayedReads {
  const legacy = delayStoreKeys(prefix, ANY_FIRED_TTL_MS);
  const shardKeys = new Map<number, DelayStoreKeys>();
  /** The unsharded keys and every shard's, as the layout names them now. */
  const stores = async (): Promise<DelayStoreKeys[]> => {
    const { counts } = await readShardLayout(redis, prefix);
    const shards = Math.max(0, ...counts);
    const all = [legacy];
    for (let shard = 0; shard < shards; shard++) {
      let keys = shardKeys.get(shard);
      if (!keys) {
        keys = delayStoreKeys(shardPrefix(prefix, shard), ANY_FIRED_TTL_MS);
        shardKeys.set(shard, keys);
      }
      all.push(keys);
    }
    return all;
  };
  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
  const sizes = async (all: DelayStoreKeys[]) => {
    const [pending, inFlight] = await Promise.all([
      Promise.all(all.map((keys) => redis.zcard(keys.pending))),
      Promise.all(all.map((keys) => redis.zcard(keys.inFlight))),
    ]);
    return { pending: sum(pending), in_flight: sum(inFlight) };
  };
  return {
    counts: async (now) => {
      const all = await stores();
      const [{ pending, in_flight }, overdue] = await Promise.all([
        sizes(all),
        Promise.all(all.map((keys) => redis.zcount(keys.pending, '-inf', now))),
      ]);
      const byTopic: Record<string, number> = {};
      let counted = 0;
      let complete = true;
      for (const keys of all) {
        let cursor = '0';
        do {
          const [next, entries] = await redis.hscanBuffer(keys.items, cursor, 'COUNT', SCAN_COUNT);
          cursor = next.toString();
          for (let i = 1; i < entries.length; i += 2) {
            const value = entries[i];
            const item = value === undefined ? undefined : parseItem(value);
            const topic = item?.topic ?? '(unknown)';
            byTopic[topic] = (byTopic[topic] ?? 0) + 1;
            counted += 1;
          }
        } while (cursor !== '0' && counted < MAX_COUNTED);
        if (cursor !== '0') {
          complete = false;
          break;
        }
      }
      return { pending, in_flight, overdue: sum(overdue), by_topic: byTopic, complete };
    },
    sizes: async () => sizes(await stores()),
    nextDue: async (limit) => {
      const all = await stores();
      const heads = await Promise.all(
        all.map(async (keys) => {
          const flat = await redis.zrange(keys.pending, 0, limit - 1, 'WITHSCORES');
          const entries: { id: string; score: number; keys: DelayStoreKeys }[] = [];
          for (let i = 0; i + 1 < flat.length; i += 2) {
            entries.push({ id: flat[i] ?? '', score: Number(flat[i + 1]), keys });
          }
          return entries;
        }),
      );
      const chosen = earliest(heads, limit);
      if (chosen.length === 0) return [];
      const details = await Promise.all(
        chosen.map(async ({ id, keys }) => {
          // HMGET and ZMSCORE: the commands the API's Redis user has (deploy/local/redis/acl-users.conf).
          const [[value], [flying]] = await Promise.all([
            redis.hmgetBuffer(keys.items, id),
            redis.zmscore(keys.inFlight, id),
          ]);
          return { id, value: value ?? null, flying: flying ?? null };
        }),
      );
      const out: DelayedMessageView[] = [];
      for (const { id, value, flying } of details) {
        const item = value ? parseItem(value) : undefined;
        if (item === undefined) continue;
        out.push({
          message_id: id,
          due_at: new Date(item.dueAt).toISOString(),
          state: flying === null ? 'pending' : 'in_flight',
          attempts: item.attempts,
          target_topic: item.topic,
          key: item.key,
        });
      }
      return out;
    },
    exists: async (messageId) => {
      const all = await stores();
      const found = await Promise.all(all.map((keys) => redis.hexists(keys.items, messageId)));
      return found.includes(1);
    },
  };
}
