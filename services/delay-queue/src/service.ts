import { dlqTopicName, topicSpec } from '@openpenpal/contracts';
import { toError } from '@openpenpal/errors';
import { DLQ_HEADERS, batchSubscription, type TopicBinding } from '@openpenpal/messaging';
import { defineService, type ServiceContext } from '@openpenpal/service-kit';
import { delayQueueConfigSchema, type DelayQueueConfig } from './config.ts';
import { createCoalescedSender } from './coalesced-sender.ts';
import { createClaimBudget, createDispatcher, type Dispatcher } from './dispatcher.ts';
import { createEventPublisher } from './events.ts';
import { createIntakeBatchHandler } from './intake.ts';
import { createMetrics } from './metrics.ts';
import { createShardDispatch, type ShardDispatch } from './shard-dispatch.ts';
import {
  openShardedStore,
  type Clock,
  type DelayStore,
  type ShardRef,
  type ShardedDelayStore,
} from './store/index.ts';
import { createTargetGate } from './targets.ts';
import { createRequestValidator } from './validation.ts';

/** What tests reach into after a start. */
export interface DelayQueueParts {
  store: ShardedDelayStore;
  dispatch: ShardDispatch;
}

/** How often a replica records its shard count and reads the layout again (the unsharded keys drained?). */
const LAYOUT_REFRESH_MS = 10_000;

/**
 * Builds and starts the delay queue on the runtime: Redis, producers, store, dispatcher, and last
 * the intake consumer. Components are registered as they start, so a shutdown (or a failed start)
 * closes them in reverse: intake first, then the dispatcher (claimed batches finish), the
 * producers, and Redis last.
 */
export async function startDelayQueue(
  ctx: ServiceContext<DelayQueueConfig>,
  clock: Clock = { now: () => Date.now() },
): Promise<DelayQueueParts> {
  const { config, logger } = ctx;
  const register = ctx.register.bind(ctx);
  const requests: TopicBinding<'DelayRequest'> = {
    topic: config.DELAY_QUEUE_REQUESTS_TOPIC,
    schema: 'DelayRequest',
  };
  const events: TopicBinding<'DelayedMessageEvent'> = {
    topic: config.DELAY_QUEUE_EVENTS_TOPIC,
    schema: 'DelayedMessageEvent',
  };
  const redis = await ctx.redis('commands');
  // Pub/sub needs a connection of its own.
  const subscriber = await ctx.redis('wakeups');
  // One shard per partition of the request topic, read at start (see README, Sharding).
  const partitionCount = async (): Promise<number> => {
    const { topics } = await ctx.admin.fetchTopicMetadata({ topics: [requests.topic] });
    return Math.max(1, topics[0]?.partitions.length ?? 1);
  };
  const store = await openShardedStore({
    redis,
    prefix: config.REDIS_KEY_PREFIX,
    clock,
    firedTtlMs: config.DELAY_QUEUE_FIRED_TTL_MS,
    shardCount: await partitionCount(),
  });
  register({ name: 'delay-store', close: () => store.close() });

  // Producers are broker connections with one request in flight each: the intake's events (and
  // dead letters) get two, so a request's event need not wait for a send under way, and never
  // queue behind a dispatch batch's thousand events; due messages go out in one request for all
  // their topics on a connection of their own.
  const secondIntakeProducer = await ctx.createProducer('intake-events-producer');
  const dispatchEventsProducer = await ctx.createProducer('dispatch-events-producer');
  const targetProducer = await ctx.createProducer('target-producer');
  const intakeEvents = createEventPublisher({
    producers: [ctx.producer, secondIntakeProducer],
    binding: events,
  });
  register({ name: 'intake-events', close: () => intakeEvents.close() });
  const dispatchEvents = createEventPublisher({ producers: [dispatchEventsProducer], binding: events });
  register({ name: 'dispatch-events', close: () => dispatchEvents.close() });

  const metrics = createMetrics(ctx.metrics.registry, store);
  const targets = createTargetGate({
    listTopics: () => ctx.admin.listTopics(),
    clock,
    logger: logger.child({ component: 'targets' }),
    refreshMs: config.DELAY_QUEUE_TOPIC_REFRESH_MS,
    backoffMaxMs: config.DELAY_QUEUE_TARGET_BACKOFF_MAX_MS,
  });
  // DELAY_QUEUE_BATCH_SIZE bounds what the whole process holds claimed, over all its shards.
  const budget = createClaimBudget();
  // The dispatch loops of all owned shards share the target producer's requests.
  const targetSender = createCoalescedSender(targetProducer);
  const dispatchShard = (shardStore: DelayStore, shard: ShardRef): Dispatcher =>
    createDispatcher({
      store: shardStore,
      targets,
      giveUpMs: config.DELAY_QUEUE_TARGET_GIVE_UP_MS,
      deadLetter: async (items) => {
        const failedAt = new Date(clock.now()).toISOString();
        await ctx.producer.sendRaw(
          dlqTopicName(requests.topic),
          items.map((item) => ({
            key: item.id,
            value: item.message.value,
            headers: {
              ...item.message.headers,
              [DLQ_HEADERS.errorCode]: item.code,
              [DLQ_HEADERS.errorMessage]: item.reason,
              [DLQ_HEADERS.originalTopic]: item.topic,
              [DLQ_HEADERS.consumerGroup]: config.KAFKA_GROUP_ID,
              [DLQ_HEADERS.failedAt]: failedAt,
            },
          })),
        );
      },
      producer: targetSender,
      events: dispatchEvents,
      clock,
      metrics,
      logger: logger.child({ component: 'dispatcher', shard }),
      batchSize: config.DELAY_QUEUE_BATCH_SIZE,
      budget,
      visibilityMs: config.DELAY_QUEUE_VISIBILITY_MS,
      maxSleepMs: config.DELAY_QUEUE_MAX_SLEEP_MS,
      minClaimIntervalMs: config.DELAY_QUEUE_MIN_CLAIM_INTERVAL_MS,
      backoffMaxMs: config.DELAY_QUEUE_BACKOFF_MAX_MS,
    });
  const dispatch = createShardDispatch({
    store,
    createDispatcher: dispatchShard,
    logger: logger.child({ component: 'shards' }),
  });

  // Wake-ups of every shard arrive on the one subscriber connection; a shard's dispatcher runs
  // only where its partition is owned, and notify() ignores the others.
  const subscribed = new Set<ShardRef>();
  const subscribeShards = async (): Promise<void> => {
    const count = Math.max(...store.layout().counts);
    const refs: ShardRef[] = ['legacy', ...Array.from({ length: count }, (_, shard) => shard)];
    for (const ref of refs) {
      if (subscribed.has(ref)) continue;
      await store.shard(ref).subscribeWakeups(subscriber, (earliest) => dispatch.notify(ref, earliest));
      subscribed.add(ref);
    }
  };
  // Partitions added to the request topic reach the group as a rebalance: a partition at or above
  // the shard count means the topic grew, so the new count is recorded and used for new ids.
  let growing: Promise<void> = Promise.resolve();
  const grow = (partitions: readonly number[]): void => {
    const highest = Math.max(-1, ...partitions);
    if (highest < Math.max(...store.layout().counts)) return;
    growing = growing
      .then(async () => {
        await store.refreshLayout(Math.max(highest + 1, await partitionCount()));
        await subscribeShards();
      })
      .catch((error: unknown) => {
        logger.warn(
          { err: toError(error) },
          'recording the new shard count failed; the next refresh retries',
        );
      });
  };
  const refresh = setInterval(() => {
    void store
      .refreshLayout()
      .then(subscribeShards)
      .catch((error: unknown) => {
        logger.warn({ err: toError(error) }, 'reading the shard layout failed');
      });
  }, LAYOUT_REFRESH_MS);
  register({ name: 'shard-layout', close: () => Promise.resolve(clearInterval(refresh)) });
  const intake = ctx.consumer({
    name: 'intake',
    groupId: config.KAFKA_GROUP_ID,
    partitionsConsumedConcurrently: config.DELAY_QUEUE_INTAKE_CONCURRENCY,
    retry: { maxDelayMs: config.DELAY_QUEUE_BACKOFF_MAX_MS },
    onAssigned: (assignment) => {
      const partitions = assignment.get(requests.topic) ?? [];
      grow(partitions);
      void dispatch.assign(partitions);
    },
    subscriptions: [
      batchSubscription(
        requests,
        createIntakeBatchHandler({
          store,
          events: intakeEvents,
          clock,
          metrics,
          logger: logger.child({ component: 'intake' }),
          validator: createRequestValidator({
            maxHorizonMs: config.DELAY_QUEUE_MAX_HORIZON_MS,
            maxRecordBytes: config.DELAY_QUEUE_MAX_RECORD_BYTES,
            extraTopics: config.DELAY_QUEUE_EXTRA_TOPICS,
            registry: ctx.contracts.registry,
          }),
          onScheduled: (items) => {
            const earliest = new Map<number, number>();
            for (const { dueAt, id } of items) {
              const shard = store.shardOf(id);
              earliest.set(shard, Math.min(earliest.get(shard) ?? Infinity, dueAt));
            }
            for (const [shard, dueAt] of earliest) dispatch.notify(shard, dueAt);
          },
        }),
        { maxBatchSize: config.DELAY_QUEUE_INTAKE_BATCH_SIZE },
      ),
    ],
  });

  register({
    name: 'dispatcher',
    close: async () => {
      await growing;
      await dispatch.close();
    },
  });
  await subscribeShards();
  // Until its first join of the group (after a restart: once the dead member's session expired),
  // a replica dispatches every shard, so due messages do not wait for the rebalance; claims keep
  // that safe next to the owners, and the first assignment narrows it to the owned shards.
  void dispatch.assign(Array.from({ length: Math.max(...store.layout().counts) }, (_, shard) => shard));
  await intake.start();
  return { store, dispatch };
}

export const delayQueueService = defineService({
  name: 'delay-queue',
  configSchema: delayQueueConfigSchema,
  topics: (config) => [
    { spec: topicSpec('scheduler.delay-requests'), name: config.DELAY_QUEUE_REQUESTS_TOPIC },
    { spec: topicSpec('scheduler.delay-events'), name: config.DELAY_QUEUE_EVENTS_TOPIC },
  ],
  start: async (ctx) => {
    await startDelayQueue(ctx);
  },
});
