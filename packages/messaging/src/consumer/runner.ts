import type { Contracts } from '@openpenpal/contracts';
import { isTracingEnabled } from '@openpenpal/telemetry';
import { toError } from '@openpenpal/errors';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Producer } from '../producer.ts';
import { ProcessingAborted, type PartitionHold } from './hold.ts';
import { processBatch } from './process-batch.ts';
import { processMessage, type ProcessDependencies } from './process-message.ts';
import type {
  AnySubscription,
  BatchSubscription,
  ConsumerObserver,
  RetryPolicy,
  Subscription,
} from './types.ts';

export interface ConsumerRunnerOptions {
  kafka: Kafka;
  contracts: Contracts;
  /** Used for dead letters only. */
  producer: Producer;
  logger: Logger;
  groupId: string;
  subscriptions: readonly AnySubscription[];
  /** Start a new group at the beginning of each topic (default true: no message is skipped). */
  fromBeginning?: boolean;
  retry?: Partial<RetryPolicy>;
  /** Partitions processed in parallel; messages within one partition are always sequential. */
  partitionsConsumedConcurrently?: number;
  /**
   * Commit inside a long batch after this many messages or milliseconds (default 5000 / 1000); a
   * batch's end and shutdown always commit. A crash redelivers at most this much.
   */
  commitEvery?: { messages?: number; ms?: number };
  /** How long close() waits for in-flight work before aborting it (default 30 s). */
  shutdownDeadlineMs?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits for data (default 1 s); close() may wait this long for it. */
  maxWaitTimeMs?: number;
  observer?: ConsumerObserver;
  /**
   * Called once when the consumer stopped for good (kafkajs gave up and will not restart it): the
   * service runtime fails readiness and exits non-zero so a supervisor restarts the process.
   */
  onFatal?: (error: Error) => void;
  /**
   * Called after every join of the group with the partitions this member was given, per topic (an
   * empty list when it got none). A member that joined again (a rebalance) was given exactly these:
   * any partition it held before and does not find here moved to another member. Work that follows
   * partition ownership (the delay queue's shards) starts and stops with it; the call must not throw.
   */
  onAssigned?: (assignment: ReadonlyMap<string, readonly number[]>) => void;
  now?: () => number;
}

export interface ConsumerRunner {
  /** Joins the group and starts consuming; resolves once running. */
  start(): Promise<void>;
  /** Stops fetching, lets in-flight messages finish (up to the deadline), commits, leaves the group. Safe to call twice. */
  close(): Promise<void>;
  /** True between start() and close(), while kafkajs has not crashed for good. */
  isRunning(): boolean;
}

const DEFAULT_RETRY: RetryPolicy = {
  attempts: 3,
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  blockingErrorCodes: ['DEPENDENCY_UNAVAILABLE'],
};

const DEFAULT_MAX_BATCH = 1_000;

function isBatchSubscription(s: AnySubscription): s is BatchSubscription & AnySubscription {
  return 'batchHandler' in s;
}

/**
 * Runs handlers over Kafka messages with at-least-once delivery: an offset is committed only
 * after its message was handled (or dead-lettered) and everything the handler produced was
 * acknowledged, so a crash redelivers instead of losing. Per-key order holds because a
 * partition's messages run one after another, retries included. A subscription handles either
 * one message per call or a slice of the fetched batch per call (`batchSubscription`), under the
 * same commit, retry, dead-letter and hold-the-partition rules.
 */
export function createConsumerRunner(options: ConsumerRunnerOptions): ConsumerRunner {
  const logger = options.logger.child({ component: 'consumer', groupId: options.groupId });
  const now = options.now ?? Date.now;
  const retryPolicy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const commitEveryMessages = options.commitEvery?.messages ?? 5_000;
  const commitEveryMs = options.commitEvery?.ms ?? 1_000;
  const heartbeatEveryMs = options.heartbeatIntervalMs ?? 3_000;
  const deps: ProcessDependencies = {
    contracts: options.contracts,
    producer: options.producer,
    logger,
    groupId: options.groupId,
    retryPolicy,
    observer: options.observer,
    now,
  };
  const byTopic = new Map<string, AnySubscription>(options.subscriptions.map((s) => [s.binding.topic, s]));
  const abort = new AbortController();
  const consumer: Consumer = options.kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
    ...(options.sessionTimeoutMs ? { sessionTimeout: options.sessionTimeoutMs } : {}),
    ...(options.heartbeatIntervalMs ? { heartbeatInterval: options.heartbeatIntervalMs } : {}),
  });
  let running = false;
  let stopping = false;
  let closing: Promise<void> | undefined;
  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload;
    logger.error({ err: error, restart }, 'consumer crashed');
    if (!restart && !stopping) {
      running = false;
      options.onFatal?.(toError(error));
    }
  });

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const given = event.payload.memberAssignment;
    const assignment = new Map<string, number[]>(
      options.subscriptions.map((s) => [
        s.binding.topic,
        [...(given[s.binding.topic] ?? [])].sort((a, b) => a - b),
      ]),
    );
    logger.info({ assignment: Object.fromEntries(assignment) }, 'joined the group');
    options.onAssigned?.(assignment);
  });

  const eachBatch = async (payload: EachBatchPayload) => {
    const { batch } = payload;
    const subscription = byTopic.get(batch.topic);
    if (!subscription) throw new Error(`no subscription for topic ${batch.topic}`);
    // Set when the group took the partition away under us (a broker restart, a session that
    // expired): stop this batch without committing more; kafkajs rejoins and the uncommitted
    // messages come back (at least once). Throwing instead would crash the consumer for good,
    // because kafkajs wraps the error of a commit as non-retriable.
    const membership = { lost: false };
    const hold: PartitionHold = {
      signal: abort.signal,
      heartbeat: () => payload.heartbeat(),
      isStale: () => membership.lost || stopping || !payload.isRunning() || payload.isStale(),
    };
    let uncommitted: string | undefined;
    let sinceCommit = 0;
    let lastCommit = now();
    const commit = async () => {
      if (uncommitted === undefined) return;
      // Resolving tells kafkajs where this partition resumes; doing it per commit rather than per
      // message spares a Long parse on the hot path.
      payload.resolveOffset(uncommitted);
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(uncommitted) + 1n).toString() },
      ]);
      uncommitted = undefined;
      sinceCommit = 0;
      lastCommit = now();
    };
    const done = async (offset: string, count: number) => {
      uncommitted = offset;
      sinceCommit += count;
      if (sinceCommit >= commitEveryMessages || now() - lastCommit >= commitEveryMs) {
        try {
          await commit();
          // kafkajs throttles heartbeats itself; asking once per commit keeps the hot loop lean.
          await payload.heartbeat();
        } catch (error) {
          membership.lost = true;
          logger.warn(
            { err: toError(error), topic: batch.topic, partition: batch.partition },
            'commit refused (group membership lost); the batch stops and is redelivered after the rejoin',
          );
        }
      }
    };
    // Whether an SDK is registered cannot change within a batch; asking once keeps it off the hot path.
    const tracing = isTracingEnabled();
    // A handler may run for minutes (a task's timeout): heartbeat meanwhile, so the group does not
    // take the partition away from a member that is busy, not dead.
    const beat = setInterval(() => {
      payload.heartbeat().catch(() => undefined);
    }, heartbeatEveryMs);
    try {
      if (isBatchSubscription(subscription)) {
        const size = subscription.maxBatchSize ?? DEFAULT_MAX_BATCH;
        for (let from = 0; from < batch.messages.length; from += size) {
          if (membership.lost || hold.isStale()) break;
          const slice = batch.messages.slice(from, from + size);
          await processBatch(deps, subscription, batch.partition, slice, hold, tracing);
          const last = slice.at(-1);
          if (last) await done(last.offset, slice.length);
        }
      } else {
        let index = 0;
        for (const message of batch.messages) {
          // isStale() (a rebalance or seek took the partition) builds a string key per call; every
          // 32nd message is often enough, and stopping a little late only redoes a few messages.
          if (
            membership.lost ||
            stopping ||
            !payload.isRunning() ||
            ((index++ & 31) === 0 && payload.isStale())
          )
            break;
          await processMessage(deps, subscription as Subscription, batch.partition, message, hold, tracing);
          await done(message.offset, 1);
        }
      }
    } catch (error) {
      if (!(error instanceof ProcessingAborted)) throw error;
    } finally {
      clearInterval(beat);
      // Commit what is done even when a later message was interrupted, so it is not redone.
      if (!membership.lost)
        await commit().catch((error: unknown) => {
          logger.warn(
            { err: toError(error), topic: batch.topic, partition: batch.partition },
            'offset commit failed',
          );
        });
      if (options.observer?.onLag && batch.messages.length > 0) {
        const lag = Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n);
        options.observer.onLag({ topic: batch.topic, partition: batch.partition, lag: Math.max(0, lag) });
      }
    }
  };

  return {
    start: async () => {
      await consumer.connect();
      for (const subscription of options.subscriptions) {
        await consumer.subscribe({
          topic: subscription.binding.topic,
          fromBeginning: options.fromBeginning ?? true,
        });
      }
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
        eachBatch,
      });
      running = true;
      logger.info({ topics: [...byTopic.keys()] }, 'consumer started');
    },
    close: () =>
      (closing ??= (async () => {
        stopping = true;
        const deadline = options.shutdownDeadlineMs ?? 30_000;
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<'expired'>((resolve) => {
          timer = setTimeout(() => resolve('expired'), deadline);
        });
        // consumer.stop() returns once the running batch has finished (and committed).
        const result = await Promise.race([consumer.stop().then(() => 'stopped' as const), expired]);
        clearTimeout(timer);
        if (result === 'expired') {
          logger.warn(
            { deadlineMs: deadline },
            'in-flight work did not finish before the shutdown deadline; aborting it',
          );
          abort.abort();
        }
        await consumer.disconnect();
        running = false;
        logger.info('consumer closed');
      })()),
    isRunning: () => running,
  };
}
