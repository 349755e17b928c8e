import { randomBytes } from 'node:crypto';
import type { Contracts } from '@openpenpal/contracts';
import { SchedulerError, toError } from '@openpenpal/errors';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { ReadTrigger } from './publisher.ts';
import { retrying } from './retry.ts';

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
    const [starts, highs] = await retrying(
      `reading the offsets of ${topic}`,
      () => Promise.all([admin.fetchTopicOffsetsByTimestamp(topic, since), admin.fetchTopicOffsets(topic)]),
      { logger, attempts: 5 },
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
 * Reads the triggers written to `topics` since a point in time, for reconciliation after a
 * failed or interrupted fire. It seeks each partition to the first offset at or after `since`
 * (Kafka's timestamp index) and reads up to the high watermark seen at the start, with a
 * throw-away consumer group that is deleted afterwards.
 */
export function createTriggerReader(options: {
  kafka: Kafka;
  admin: Admin;
  contracts: Contracts;
  logger: Logger;
  groupPrefix: string;
  timeoutMs?: number;
}): (topics: readonly string[], since: number) => Promise<ReadTrigger[]> {
  const codec = options.contracts.codec('TaskTrigger');
  const logger = options.logger.child({ component: 'trigger-reader' });
  return async (topics, since) => {
    const ranges = await rangesSince(options.admin, topics, since, logger);
    if (ranges.length === 0) return [];
    const groupId = `${options.groupPrefix}-reconcile-${randomBytes(6).toString('hex')}`;
    const consumer = options.kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    const pending = new Map(ranges.map((r) => [`${r.topic}/${r.partition}`, r]));
    const found: ReadTrigger[] = [];
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...new Set(ranges.map((r) => r.topic))], fromBeginning: false });
      const done = new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => {
          reject(
            new SchedulerError('TIMEOUT', 'reading back recent triggers took too long', {
              details: { pending: [...pending.keys()] },
            }),
          );
        }, options.timeoutMs ?? 30_000);
        void consumer.run({
          eachBatch: async ({ batch }) => {
            const key = `${batch.topic}/${batch.partition}`;
            const range = pending.get(key);
            if (!range) return;
            for (const message of batch.messages) {
              const offset = BigInt(message.offset);
              if (offset >= range.end) break;
              if (offset >= range.start && message.value) {
                found.push({ topic: batch.topic, trigger: codec.decode(message.value) });
              }
              if (offset + 1n >= range.end) pending.delete(key);
            }
            if (pending.size === 0) resolve();
            await Promise.resolve();
          },
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
      await options.admin.deleteGroups([groupId]).catch((error: unknown) => {
        logger.debug({ err: toError(error), groupId }, 'could not delete the reconcile group');
      });
    }
  };
}
