import type { Contracts } from '@openpenpal/contracts';
import { errorCodeOf, isSchedulerError, toError } from '@openpenpal/errors';
import type { AppendManyResult, AppendRequest, EventStore } from '@openpenpal/event-store';
import { sendToDeadLetterTopic, type Producer } from '@openpenpal/messaging';
import type { RecordedKind } from '@openpenpal/task-definitions';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { planChunks, planMessage, type Chunk, type IngestObserver } from './record-batches.ts';

export interface RecorderConsumerOptions {
  kafka: Kafka;
  contracts: Contracts;
  store: EventStore;
  /** For dead letters. */
  producer: Producer;
  logger: Logger;
  groupId: string;
  /** Topic name → what it carries. */
  topics: ReadonlyMap<string, RecordedKind>;
  partitionsConsumedConcurrently?: number;
  maxEventsPerAppend?: number;
  maxStreamsPerAppend?: number;
  maxWaitTimeMs?: number;
  sessionTimeoutMs?: number;
  observer?: IngestObserver;
  now?: () => number;
}

export interface RecorderConsumer {
  start(): Promise<void>;
  isRunning(): boolean;
  close(): Promise<void>;
}

/** The batch was given up because of shutdown or a rebalance: nothing more is committed. */
class Interrupted extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Records the scheduler's event topics in the event store, one multi-stream append per chunk of a Kafka
 * batch (up to a thousand events in one transaction), committing the chunk's last offset only after the
 * store has it. Delivery stays at least once and storage exactly once: a redelivered message's event id
 * is already in its stream, and the append leaves it out (`onStored: 'skip'`).
 *
 * Failures: a message that cannot be decoded goes to `<topic>.dlq` (dead letters are written before the
 * offsets around them are committed). A store outage is retried with backoff for as long as it lasts,
 * holding the partition: the messages wait in Kafka. An append the store refuses for good (an event id
 * already stored in another stream) is split stream by stream and event by event, and only the refused
 * events go to the dead-letter topic.
 */
export function createRecorderConsumer(options: RecorderConsumerOptions): RecorderConsumer {
  const { kafka, contracts, store, producer, observer } = options;
  const logger = options.logger.child({ component: 'recorder-consumer' });
  const now = options.now ?? Date.now;
  const limits = {
    maxEvents: options.maxEventsPerAppend ?? 1_000,
    maxStreams: options.maxStreamsPerAppend ?? 500,
  };
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
    ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeout: options.sessionTimeoutMs }),
  });
  let running = false;
  let stopping = false;
  let closing: Promise<void> | undefined;
  consumer.on(consumer.events.CRASH, (event) => {
    logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
    if (!event.payload.restart) running = false;
  });

  const deadLetter = async (topic: string, partition: number, message: KafkaMessage, error: unknown) => {
    const dlq = await sendToDeadLetterTopic(
      producer,
      { topic, partition, message, groupId: options.groupId, error, attempts: 1 },
      now(),
    );
    observer?.deadLettered(topic, errorCodeOf(error));
    logger.error(
      { err: toError(error), topic, partition, offset: message.offset, dlq },
      'message dead-lettered',
    );
  };

  /** Appends with retries while the store is unreachable; refusals are returned, not retried. */
  const appendOnce = async (
    requests: AppendRequest[],
    payload: EachBatchPayload,
  ): Promise<AppendManyResult[] | { refused: unknown }> => {
    for (let attempt = 0; ; attempt++) {
      if (stopping || !payload.isRunning() || payload.isStale()) throw new Interrupted();
      try {
        return await store.appendMany(requests);
      } catch (error) {
        if (isSchedulerError(error) && (error.code === 'CONFLICT' || error.code === 'VALIDATION_FAILED')) {
          return { refused: error };
        }
        const code = errorCodeOf(error);
        observer?.retry(code);
        logger.warn({ err: toError(error), attempt, code }, 'append failed; the partition waits and retries');
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(attempt, 6)));
        await payload.heartbeat().catch(() => undefined);
      }
    }
  };

  const record = async (
    topic: string,
    requests: AppendRequest[],
    payload: EachBatchPayload,
    offsets: ReadonlyMap<string, KafkaMessage>,
    repeated = 0,
  ): Promise<void> => {
    const started = performance.now();
    const outcome = await appendOnce(requests, payload);
    if (!Array.isArray(outcome)) {
      // Isolate what the store refuses: per stream, then per event of a refused stream.
      if (requests.length > 1) {
        for (const request of requests) await record(topic, [request], payload, offsets);
        return;
      }
      const [request] = requests;
      if (request === undefined) return;
      if (request.events.length > 1) {
        for (const event of request.events)
          await record(topic, [{ ...request, events: [event] }], payload, offsets);
        return;
      }
      const message = offsets.get(request.events[0]?.id ?? '');
      if (message !== undefined) await deadLetter(topic, payload.batch.partition, message, outcome.refused);
      return;
    }
    const types = new Map<string, number>();
    let duplicates = repeated;
    let events = 0;
    let position = 0n;
    outcome.forEach((result, index) => {
      const skipped = new Set(result.skippedIds);
      duplicates += skipped.size;
      if (result.position > position) position = result.position;
      for (const event of requests[index]?.events ?? []) {
        events++;
        if (!skipped.has(event.id.toLowerCase())) types.set(event.type, (types.get(event.type) ?? 0) + 1);
      }
    });
    observer?.appended({
      topic,
      types,
      duplicates,
      durationMs: performance.now() - started,
      events,
      position,
    });
  };

  const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    const kind = options.topics.get(batch.topic);
    if (kind === undefined) throw new Error(`no recorded kind for topic ${batch.topic}`);
    const planned = batch.messages.map((message) =>
      planMessage(contracts, kind, { topic: batch.topic, partition: batch.partition }, message),
    );
    const offsets = new Map<string, KafkaMessage>();
    for (const item of planned) {
      if ('event' in item) offsets.set(item.event.id.toLowerCase(), item.message);
      else await deadLetter(batch.topic, batch.partition, item.message, item.error);
    }
    const chunks: Chunk[] = planChunks(planned, limits);
    try {
      for (const chunk of chunks) {
        if (chunk.requests.length > 0)
          await record(batch.topic, chunk.requests, payload, offsets, chunk.repeated);
        payload.resolveOffset(chunk.lastOffset);
        await consumer.commitOffsets([
          {
            topic: batch.topic,
            partition: batch.partition,
            offset: (BigInt(chunk.lastOffset) + 1n).toString(),
          },
        ]);
        await payload.heartbeat();
      }
    } catch (error) {
      if (error instanceof Interrupted) return;
      throw error;
    }
  };

  return {
    start: async () => {
      await consumer.connect();
      for (const topic of options.topics.keys()) await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
        eachBatch,
      });
      running = true;
      logger.info({ topics: [...options.topics.keys()], groupId: options.groupId }, 'recorder consuming');
    },
    isRunning: () => running,
    close: () =>
      (closing ??= (async () => {
        stopping = true;
        await consumer.stop();
        await consumer.disconnect();
        running = false;
      })()),
  };
}
