import { randomBytes } from 'node:crypto';
import type { Contracts, SchemaName, SchemaTypes } from '@openpenpal/contracts';
import { SchedulerError, toError } from '@openpenpal/errors';
import { retry } from '@openpenpal/timing';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { deleteGroup, deleteIdleGroups } from './groups.ts';

/** A record read back, decoded, with where it was. */
export interface ReadBackRecord<T> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: T;
  /** Broker timestamp, epoch ms. */
  timestamp: number;
}

export interface SinceReaderOptions<S extends SchemaName> {
  kafka: Kafka;
  /** Connected. */
  admin: Admin;
  contracts: Contracts;
  logger: Logger;
  /** The schema every record of the topics read has. */
  schema: S;
  /**
   * Each read runs in a throw-away group `<groupPrefix>-<random>` that commits nothing and is
   * deleted afterwards; idle ones left by a reader killed mid-read are deleted before each read.
   */
  groupPrefix: string;
  /** A read that has not reached the end it saw at its start within this long fails (default 30 s). */
  timeoutMs?: number;
}

/** Reads `topics` from the first record at or after `since` (epoch ms) up to their ends at the call. */
export type SinceReader<T> = (topics: readonly string[], since: number) => Promise<ReadBackRecord<T>[]>;

interface PartitionRange {
  topic: string;
  partition: number;
  start: bigint;
  /** The high watermark when the read began: the read is complete once it got here. */
  end: bigint;
}

async function rangesSince(
  admin: Admin,
  topics: readonly string[],
  since: number,
  logger: Logger,
): Promise<PartitionRange[]> {
  const ranges: PartitionRange[] = [];
  for (const topic of topics) {
    // Right after topics were created the broker's metadata may still settle.
    const [starts, highs] = await retry(
      () => Promise.all([admin.fetchTopicOffsetsByTimestamp(topic, since), admin.fetchTopicOffsets(topic)]),
      {
        attempts: 5,
        initialDelayMs: 200,
        maxDelayMs: 1_000,
        onRetry: (error, attempt) =>
          logger.warn({ err: toError(error), attempt, topic }, 'reading offsets failed; retrying'),
      },
    );
    for (const { partition, offset } of starts) {
      const high = highs.find((h) => h.partition === partition);
      if (!high) continue;
      const start = BigInt(offset);
      const end = BigInt(high.high);
      if (start < end) ranges.push({ topic, partition, start, end });
    }
  }
  return ranges;
}

/**
 * Reads back what was written to some topics since a point in time (a ticker reconciling an
 * interrupted fire against what reached Kafka). Each partition is sought to the first offset at or
 * after `since` (Kafka's timestamp index) and read up to the high watermark seen when the read
 * began, in a throw-away consumer group that is deleted afterwards. Tombstones are skipped; a
 * record that cannot be decoded is logged and skipped, so one bad record cannot stop every read.
 */
export function createSinceReader<S extends SchemaName>(
  options: SinceReaderOptions<S>,
): SinceReader<SchemaTypes[S]> {
  const codec = options.contracts.codec(options.schema);
  const logger = options.logger.child({ component: 'since-reader' });
  return async (topics, since) => {
    const ranges = await rangesSince(options.admin, topics, since, logger);
    if (ranges.length === 0) return [];
    await deleteIdleGroups(options.admin, `${options.groupPrefix}-`, logger);
    const groupId = `${options.groupPrefix}-${randomBytes(6).toString('hex')}`;
    const consumer = options.kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    const pending = new Map(ranges.map((r) => [`${r.topic}/${r.partition}`, r]));
    const found: ReadBackRecord<SchemaTypes[S]>[] = [];
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...new Set(ranges.map((r) => r.topic))], fromBeginning: false });
      const done = new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => {
          reject(
            new SchedulerError('TIMEOUT', `reading back ${topics.join(', ')} took too long`, {
              details: { pending: [...pending.keys()] },
            }),
          );
        }, options.timeoutMs ?? 30_000);
        void consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const key = `${batch.topic}/${batch.partition}`;
            const range = pending.get(key);
            if (!range) return;
            for (const message of batch.messages) {
              const offset = BigInt(message.offset);
              if (offset >= range.end) break;
              if (offset >= range.start && message.value) {
                try {
                  found.push({
                    topic: batch.topic,
                    partition: batch.partition,
                    offset: message.offset,
                    key: message.key?.toString() ?? null,
                    value: codec.decode(message.value),
                    timestamp: Number(message.timestamp),
                  });
                } catch (error) {
                  logger.warn(
                    {
                      err: toError(error),
                      topic: batch.topic,
                      partition: batch.partition,
                      offset: message.offset,
                    },
                    'skipped a record that cannot be decoded',
                  );
                }
              }
              if (offset + 1n >= range.end) pending.delete(key);
            }
            if (pending.size === 0) resolve();
            await Promise.resolve();
          },
        });
        // A partition whose last records are transaction markers (a transactional writer's commit
        // or abort) ends in records kafkajs never hands to eachBatch (a batch of only control
        // records is skipped), so the end is also recognised from where each fetched batch ended.
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
          const key = `${payload.topic}/${payload.partition}`;
          const range = pending.get(key);
          // Only a batch that began inside the range (not one fetched from the log end before the
          // seek took effect, holding records written after the read began).
          // Typed as a string, but kafkajs gives null for a batch it filtered entirely.
          const first = `${payload.firstOffset as string | null}`;
          if (!range || !/^\d+$/.test(first) || BigInt(first) >= range.end) return;
          if (BigInt(payload.lastOffset) + 1n < range.end) return;
          pending.delete(key);
          if (pending.size === 0) resolve();
        });
        for (const range of ranges) {
          consumer.seek({ topic: range.topic, partition: range.partition, offset: range.start.toString() });
        }
      });
      await done;
      return found;
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
      await deleteGroup(options.admin, groupId, logger);
    }
  };
}
