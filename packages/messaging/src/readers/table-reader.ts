import type { SchemaName, SchemaTypes } from '@openpenpal/contracts';
import { toError } from '@openpenpal/errors';
import { retry, sleep } from '@openpenpal/timing';
import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
import type { ConsumerRunner, ConsumerRunnerOptions } from '../consumer/runner.ts';
import { subscription, type ConsumedMessage } from '../consumer/types.ts';
import type { TopicBinding } from '../producer.ts';

export interface TableReader {
  /** Reads the topic's ends, then joins the reader's own group and reads from the beginning. */
  start(): Promise<void>;
  /** Resolves once every partition was read up to the end it had when start() was called. */
  loaded(): Promise<void>;
  isLoaded(): boolean;
  isRunning(): boolean;
  /** Stops reading and deletes the reader's consumer group; safe to call twice. */
  close(): Promise<void>;
}

/** What the table reader needs its consumer to be; the caller adds clients, metrics and shutdown. */
export type TableConsumerOptions = Required<
  Pick<ConsumerRunnerOptions, 'groupId' | 'subscriptions' | 'fromBeginning'>
>;

export interface TableReaderOptions<S extends SchemaName> {
  /** Connected. */
  admin: Admin;
  logger: Logger;
  /** A compacted topic: the latest record of each key is the table's row, a tombstone deletes it. */
  binding: TopicBinding<S>;
  /** Unique to this process (every reader needs the whole table, so none may share partitions); deleted on close. */
  groupId: string;
  /**
   * Builds the consumer (the service runtime's `ctx.consumer`, or `createConsumerRunner` with the
   * clients): the reader does not start it before it knows where the table ends.
   */
  consumer(options: TableConsumerOptions): ConsumerRunner;
  /** One record, in offset order per partition; a null value is a tombstone. */
  onRecord(record: ConsumedMessage<SchemaTypes[S] | null>): void | Promise<void>;
  /** How often the group's committed offsets are looked at while loading (default 1 s). */
  commitCheckMs?: number;
}

/**
 * A table kept from a compacted topic, rebuilt from the beginning at every start and kept live
 * afterwards. "Loaded" means read up to the high watermarks taken at start: before that, a reader
 * that acts on the table (a ticker taking the lead) would take rows it has not seen yet for
 * deleted. A record that cannot be decoded is dead-lettered by the consumer and never reaches
 * `onRecord`; the offsets the consumer commits still pass it, so those are watched too until the
 * table is loaded, and a bad record cannot hold the loading back.
 */
export function createTableReader<S extends SchemaName>(options: TableReaderOptions<S>): TableReader {
  const topic = options.binding.topic;
  const logger = options.logger.child({ component: 'table-reader', topic });
  /** partition → the offset the table must reach (the high watermark at start). */
  const remaining = new Map<number, bigint>();
  const stop = new AbortController();
  let loadedFlag = false;
  let resolveLoaded: () => void = () => undefined;
  const loadedPromise = new Promise<void>((resolve) => {
    resolveLoaded = resolve;
  });
  let runner: ConsumerRunner | undefined;
  let closing: Promise<void> | undefined;
  let received = 0;
  let startedAt = 0;

  const markLoaded = () => {
    if (loadedFlag || remaining.size > 0) return;
    loadedFlag = true;
    logger.info({ records: received, ms: Math.round(performance.now() - startedAt) }, 'table loaded');
    resolveLoaded();
  };

  const progress = (partition: number, offset: string) => {
    received += 1;
    const target = remaining.get(partition);
    if (target !== undefined && BigInt(offset) + 1n >= target) {
      remaining.delete(partition);
      markLoaded();
    }
  };

  // A function, not a property read: TypeScript would keep a narrowed `aborted` across awaits.
  const stopped = () => stop.signal.aborted;

  const watchCommits = async () => {
    while (!loadedFlag && !stopped()) {
      await sleep(options.commitCheckMs ?? 1_000, stop.signal);
      if (stopped()) return;
      try {
        const [entry] = await options.admin.fetchOffsets({ groupId: options.groupId, topics: [topic] });
        for (const { partition, offset } of entry?.partitions ?? []) {
          const target = remaining.get(partition);
          if (target !== undefined && BigInt(offset) >= target) remaining.delete(partition);
        }
        markLoaded();
      } catch (error) {
        logger.debug({ err: toError(error) }, 'could not read the table group offsets');
      }
    }
  };

  const apply = async (message: ConsumedMessage<SchemaTypes[S] | null>) => {
    await options.onRecord(message);
    progress(message.partition, message.offset);
  };

  return {
    start: async () => {
      startedAt = performance.now();
      const offsets = await retry(() => options.admin.fetchTopicOffsets(topic), {
        attempts: 10,
        initialDelayMs: 200,
        maxDelayMs: 2_000,
        signal: stop.signal,
        onRetry: (error, attempt) =>
          logger.warn({ err: toError(error), attempt }, 'reading the topic end offsets failed; retrying'),
      });
      for (const { partition, high, low } of offsets) {
        if (BigInt(high) > BigInt(low)) remaining.set(partition, BigInt(high));
      }
      runner = options.consumer({
        groupId: options.groupId,
        fromBeginning: true,
        subscriptions: [subscription(options.binding, apply, apply)],
      });
      await runner.start();
      markLoaded();
      if (!loadedFlag) void watchCommits();
    },
    loaded: () => loadedPromise,
    isLoaded: () => loadedFlag,
    isRunning: () => runner?.isRunning() ?? false,
    close: () =>
      (closing ??= (async () => {
        stop.abort();
        await runner?.close();
        await options.admin.deleteGroups([options.groupId]).catch((error: unknown) => {
          // Nothing to delete when the consumer never joined.
          if (JSON.stringify(error).includes('GROUP_ID_NOT_FOUND')) return;
          logger.warn({ err: toError(error), groupId: options.groupId }, 'could not delete the table group');
        });
      })()),
  };
}
