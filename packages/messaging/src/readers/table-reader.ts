import { randomBytes } from 'node:crypto';
import type { Contracts, SchemaName, SchemaTypes } from '@openpenpal/contracts';
import { toError } from '@openpenpal/errors';
import { retry, sleep } from '@openpenpal/timing';
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { TopicBinding } from '../producer.ts';
import { deleteGroup, deleteIdleGroups } from './groups.ts';

/** One row change of the table, in offset order per partition. */
export interface TableRecord<T> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** Null for a tombstone: the row is deleted. */
  value: T | null;
  /** Broker timestamp, epoch ms. */
  timestamp: number;
  /** The record as read (bytes, headers): for a dead letter the caller decides to write. */
  message: KafkaMessage;
}

/** A record whose value the reader could not decode: skipped, never dead-lettered. */
export interface UndecodableRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  error: Error;
  /** The record as read, for a dead-letter copy. */
  message: KafkaMessage;
}

export interface TableReader {
  /** This start's consumer group, `<groupPrefix>-<member>-<random>`. */
  readonly groupId: string;
  /** Deletes idle groups of earlier readers, reads the topic's ends, joins and reads from the beginning. */
  start(): Promise<void>;
  /** Resolves once every partition was read up to the end it had when start() was called. */
  loaded(): Promise<void>;
  isLoaded(): boolean;
  /** True between start() and close(), unless kafkajs stopped the consumer for good. */
  isRunning(): boolean;
  /** Stops reading, leaves and deletes the group; safe to call twice. */
  close(): Promise<void>;
}

export interface TableReaderOptions<S extends SchemaName> {
  kafka: Kafka;
  /** Connected. */
  admin: Admin;
  contracts: Contracts;
  logger: Logger;
  /** A compacted topic: the latest record of each key is the table's row, a tombstone deletes it. */
  binding: TopicBinding<S>;
  /**
   * Groups are `<groupPrefix>-<member>-<random>`, one per start: every reader needs the whole
   * table, so none may share a group, and a restarted process must not wait for the session of
   * its killed predecessor to time out (kafkajs has no static membership). The reader commits
   * nothing, deletes its group on close, and deletes idle groups under `<groupPrefix>-` (those of
   * killed readers) at start and every `sweepEveryMs`.
   */
  groupPrefix: string;
  /** Names the reader in its group id (the instance id). */
  member: string;
  /** One record, in offset order per partition. A throw is logged and the record skipped. */
  onRecord(record: TableRecord<SchemaTypes[S]>): void | Promise<void>;
  /** A record that cannot be decoded, once per offset: count it. It is logged and skipped. */
  onUndecodable?(record: UndecodableRecord): void;
  /** kafkajs stopped the consumer for good: the table no longer follows the topic. */
  onFatal?(error: Error): void;
  sessionTimeoutMs?: number;
  /** Fetch long-poll (default 500 ms): how late a live change may arrive, and close() may wait. */
  maxWaitTimeMs?: number;
  /** How often idle groups under the prefix are looked for after start (default 5 min). */
  sweepEveryMs?: number;
}

/**
 * A table kept from a compacted topic, rebuilt from the beginning at every start and kept live
 * afterwards. "Loaded" means read up to the high watermarks taken at start: before that, a reader
 * that acts on the table (a ticker taking the lead) would take rows it has not seen yet for
 * deleted.
 *
 * A table record is state, not a message to process once: the reader commits no offsets (each
 * start reads everything again), and a record it cannot decode — a schema version newer than this
 * reader, bytes written around the producer — is counted, logged once and skipped, never
 * dead-lettered: a dead letter per start and per replica would repeat it forever, and a newer
 * reader will decode it. Dead-lettering the topic is its consumers' owner's decision.
 */
export function createTableReader<S extends SchemaName>(options: TableReaderOptions<S>): TableReader {
  const topic = options.binding.topic;
  const codec = options.contracts.codec(options.binding.schema);
  const logger = options.logger.child({ component: 'table-reader', topic });
  const groupId = `${options.groupPrefix}-${options.member}-${randomBytes(4).toString('hex')}`;
  /** partition → the offset the table must reach (the high watermark at start). */
  const remaining = new Map<number, bigint>();
  /** partition → the last offset applied: kafkajs fetches again from the start after a restart. */
  const applied = new Map<number, bigint>();
  const stop = new AbortController();
  let loadedFlag = false;
  let resolveLoaded: () => void = () => undefined;
  const loadedPromise = new Promise<void>((resolve) => {
    resolveLoaded = resolve;
  });
  let consumer: Consumer | undefined;
  let running = false;
  let closing: Promise<void> | undefined;
  let received = 0;
  let skipped = 0;
  let startedAt = 0;

  // A function, not a property read: TypeScript would keep a narrowed `aborted` across awaits.
  const stopped = () => stop.signal.aborted;

  const markLoaded = () => {
    if (loadedFlag || remaining.size > 0) return;
    loadedFlag = true;
    logger.info(
      { records: received, undecodable: skipped, ms: Math.round(performance.now() - startedAt), groupId },
      'table loaded',
    );
    resolveLoaded();
  };

  const read = async (partition: number, message: KafkaMessage) => {
    const key = message.key?.toString() ?? null;
    const where = { topic, partition, offset: message.offset, key };
    let value: SchemaTypes[S] | null = null;
    if (message.value !== null) {
      try {
        value = codec.decode(message.value);
      } catch (error) {
        skipped += 1;
        const err = toError(error);
        logger.warn({ err, ...where }, 'skipped a table record that cannot be decoded');
        options.onUndecodable?.({ ...where, error: err, message });
        return;
      }
    }
    try {
      await options.onRecord({ ...where, value, timestamp: Number(message.timestamp), message });
    } catch (error) {
      logger.error({ err: toError(error), ...where }, 'the table record handler failed; record skipped');
    }
  };

  const eachBatch = async (payload: EachBatchPayload) => {
    const { batch } = payload;
    const { partition } = batch;
    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale()) return;
      const offset = BigInt(message.offset);
      const last = applied.get(partition);
      if (last === undefined || offset > last) {
        await read(partition, message);
        applied.set(partition, offset);
        received += 1;
        const target = remaining.get(partition);
        if (target !== undefined && offset + 1n >= target) {
          remaining.delete(partition);
          markLoaded();
        }
      }
      // Moves kafkajs's position only: nothing is committed.
      payload.resolveOffset(message.offset);
    }
    await payload.heartbeat();
  };

  const sweepLoop = async () => {
    while (!stopped()) {
      await sleep(options.sweepEveryMs ?? 300_000, stop.signal);
      if (stopped()) return;
      await deleteIdleGroups(options.admin, `${options.groupPrefix}-`, logger);
    }
  };

  return {
    groupId,
    start: async () => {
      startedAt = performance.now();
      await deleteIdleGroups(options.admin, `${options.groupPrefix}-`, logger);
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
      const session = options.sessionTimeoutMs;
      const created = options.kafka.consumer({
        groupId,
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
        ...(session
          ? { sessionTimeout: session, heartbeatInterval: Math.max(500, Math.floor(session / 10)) }
          : {}),
      });
      consumer = created;
      created.on(created.events.CRASH, (event) => {
        const { error, restart } = event.payload;
        logger.error({ err: error, restart }, 'table consumer crashed');
        if (!restart && !stopped()) {
          running = false;
          options.onFatal?.(toError(error));
        }
      });
      await created.connect();
      await created.subscribe({ topics: [topic], fromBeginning: true });
      await created.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
      running = !stopped();
      markLoaded();
      void sweepLoop();
    },
    loaded: () => loadedPromise,
    isLoaded: () => loadedFlag,
    isRunning: () => running,
    close: () =>
      (closing ??= (async () => {
        stop.abort();
        running = false;
        await consumer?.disconnect().catch((error: unknown) => {
          logger.warn({ err: toError(error) }, 'the table consumer did not disconnect cleanly');
        });
        await deleteGroup(options.admin, groupId, logger);
      })()),
  };
}
