import { dlqTopicName, topicSpec } from '@openpenpal/contracts';
import { DLQ_HEADERS, batchSubscription, type TopicBinding } from '@openpenpal/messaging';
import { defineService, type ServiceContext } from '@openpenpal/service-kit';
import { delayQueueConfigSchema, type DelayQueueConfig } from './config.ts';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import { createEventPublisher } from './events.ts';
import { createIntakeBatchHandler } from './intake.ts';
import { createMetrics } from './metrics.ts';
import { createDelayStore, type Clock, type DelayStore } from './store/index.ts';
import { createTargetGate } from './targets.ts';
import { createRequestValidator } from './validation.ts';

/** What tests reach into after a start. */
export interface DelayQueueParts {
  store: DelayStore;
  dispatcher: Dispatcher;
}

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
  const store = createDelayStore({
    redis,
    prefix: config.REDIS_KEY_PREFIX,
    clock,
    firedTtlMs: config.DELAY_QUEUE_FIRED_TTL_MS,
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
  const dispatcher = createDispatcher({
    store,
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
    producer: targetProducer,
    events: dispatchEvents,
    clock,
    metrics,
    logger: logger.child({ component: 'dispatcher' }),
    batchSize: config.DELAY_QUEUE_BATCH_SIZE,
    visibilityMs: config.DELAY_QUEUE_VISIBILITY_MS,
    maxSleepMs: config.DELAY_QUEUE_MAX_SLEEP_MS,
    minClaimIntervalMs: config.DELAY_QUEUE_MIN_CLAIM_INTERVAL_MS,
    backoffMaxMs: config.DELAY_QUEUE_BACKOFF_MAX_MS,
  });
  const intake = ctx.consumer({
    name: 'intake',
    groupId: config.KAFKA_GROUP_ID,
    partitionsConsumedConcurrently: config.DELAY_QUEUE_INTAKE_CONCURRENCY,
    retry: { maxDelayMs: config.DELAY_QUEUE_BACKOFF_MAX_MS },
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
          onScheduled: (dueAt) => dispatcher.notify(dueAt),
        }),
        { maxBatchSize: config.DELAY_QUEUE_INTAKE_BATCH_SIZE },
      ),
    ],
  });

  register({ name: 'dispatcher', close: () => dispatcher.close() });
  await store.subscribeWakeups(subscriber, (earliest) => dispatcher.notify(earliest));
  dispatcher.start();
  await intake.start();
  return { store, dispatcher };
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
