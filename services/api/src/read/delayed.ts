import { decodeRecord } from '@openpenpal/delay-queue/record';
import { delayStoreKeys, parseItemValue } from '@openpenpal/delay-queue/store';
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

/**
 * Read-only view of the delay queue's Redis store (`API_DELAY_QUEUE_REDIS_PREFIX`), through the
 * delay queue's own key module and record format. Changes go through Kafka (the delay client), never
 * into these keys.
 */
export function createDelayedReads(redis: Redis, prefix: string): DelayedReads {
  const keys = delayStoreKeys(prefix, ANY_FIRED_TTL_MS);
  return {
    counts: async (now) => {
      const [pending, inFlight, overdue] = await Promise.all([
        redis.zcard(keys.pending),
        redis.zcard(keys.inFlight),
        redis.zcount(keys.pending, '-inf', now),
      ]);
      const byTopic: Record<string, number> = {};
      let counted = 0;
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
      return { pending, in_flight: inFlight, overdue, by_topic: byTopic, complete: cursor === '0' };
    },
    sizes: async () => {
      const [pending, inFlight] = await Promise.all([redis.zcard(keys.pending), redis.zcard(keys.inFlight)]);
      return { pending, in_flight: inFlight };
    },
    nextDue: async (limit) => {
      const ids = await redis.zrange(keys.pending, 0, limit - 1);
      if (ids.length === 0) return [];
      const [values, flying] = await Promise.all([
        redis.hmgetBuffer(keys.items, ...ids),
        redis.zmscore(keys.inFlight, ...ids),
      ]);
      const out: DelayedMessageView[] = [];
      ids.forEach((id, index) => {
        const value = values[index];
        const item = value ? parseItem(value) : undefined;
        if (item === undefined) return;
        out.push({
          message_id: id,
          due_at: new Date(item.dueAt).toISOString(),
          state: flying[index] === null ? 'pending' : 'in_flight',
          attempts: item.attempts,
          target_topic: item.topic,
          key: item.key,
        });
      });
      return out;
    },
    exists: async (messageId) => (await redis.hexists(keys.items, messageId)) === 1,
  };
}
