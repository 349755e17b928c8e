import { createContracts, topicSpec } from '@openpenpal/contracts';
import {
  createConsumerRunner,
  createKafkaClient,
  createProducer,
  provisionTopics,
  subscription,
  type TopicBinding,
} from '@openpenpal/messaging';
import { startOpsServer, type Closeable, type OpsServer, type ReadinessCheck } from '@openpenpal/service-kit';
import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { DelayQueueConfig } from './config.ts';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import { createEventPublisher } from './events.ts';
import { createIntakeHandler } from './intake.ts';
import { createMetrics } from './metrics.ts';
import { closeRedis, connectRedis, duplicateRedis, redisReady } from './redis.ts';
import { createDelayStore, type Clock, type DelayStore } from './store/index.ts';
import { createRequestValidator } from './validation.ts';

export interface DelayQueue {
  ops: OpsServer;
  store: DelayStore;
  dispatcher: Dispatcher;
}

const KAFKA_CHECK_TIMEOUT_MS = 2_000;

async function kafkaReachable(admin: Admin): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), KAFKA_CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      admin.describeCluster().then((cluster) => cluster.brokers.length > 0),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds and starts the delay queue: topics, Redis, producers, store, ops server, dispatcher, and
 * last the intake consumer. Each component is registered as it starts, so a shutdown (or a failed
 * start) closes them in reverse: intake first, then the dispatcher (claimed batches finish), the
 * producers, and Redis last.
 */
export async function startDelayQueue(options: {
  config: DelayQueueConfig;
  logger: Logger;
  register: (component: Closeable) => void;
  clock?: Clock;
}): Promise<DelayQueue> {
  const { config, logger, register } = options;
  const clock = options.clock ?? { now: () => Date.now() };
  const contracts = createContracts();
  const kafka = createKafkaClient({
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID,
    logger,
  });
  const requestsBinding: TopicBinding<'DelayRequest'> = {
    topic: config.DELAY_QUEUE_REQUESTS_TOPIC,
    schema: 'DelayRequest',
  };
  const eventsBinding: TopicBinding<'DelayedMessageEvent'> = {
    topic: config.DELAY_QUEUE_EVENTS_TOPIC,
    schema: 'DelayedMessageEvent',
  };
  if (config.DELAY_QUEUE_PROVISION_TOPICS) {
    await provisionTopics({
      kafka,
      logger,
      topics: [
        { spec: topicSpec('scheduler.delay-requests'), name: requestsBinding.topic },
        { spec: topicSpec('scheduler.delay-events'), name: eventsBinding.topic },
      ].map(({ spec, name }) => ({
        name,
        partitions: spec.partitions,
        retentionMs: spec.retentionMs,
        cleanupPolicy: spec.cleanupPolicy,
      })),
    });
  }

  const redisSettings = {
    url: config.REDIS_URL,
    commandTimeoutMs: config.DELAY_QUEUE_REDIS_COMMAND_TIMEOUT_MS,
    reconnectMaxMs: config.DELAY_QUEUE_REDIS_RECONNECT_MAX_MS,
  };
  const redis = await connectRedis(redisSettings, logger, 'commands');
  register({ name: 'redis', close: () => closeRedis(redis) });
  const subscriber = await duplicateRedis(redis, logger, 'wakeups');
  register({ name: 'redis-wakeups', close: () => closeRedis(subscriber) });
  const store = createDelayStore({
    redis,
    prefix: config.DELAY_QUEUE_REDIS_PREFIX,
    clock,
    firedTtlMs: config.DELAY_QUEUE_FIRED_TTL_MS,
  });
  register({ name: 'delay-store', close: () => store.close() });

  // Producers are broker connections with one request in flight each: the intake's events (and
  // dead letters) get two, so a request's event need not wait for a send under way, and never
  // queue behind a dispatch batch's thousand events; due messages go out in one request for all
  // their topics (sendBatch) on a connection of their own.
  const producer = createProducer({ kafka, contracts, logger });
  await producer.connect();
  register({ name: 'producer', close: () => producer.close() });
  const secondIntakeProducer = createProducer({ kafka, contracts, logger });
  await secondIntakeProducer.connect();
  register({ name: 'intake-events-producer', close: () => secondIntakeProducer.close() });
  const dispatchEventsProducer = createProducer({ kafka, contracts, logger });
  await dispatchEventsProducer.connect();
  register({ name: 'dispatch-events-producer', close: () => dispatchEventsProducer.close() });
  const targetProducer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await targetProducer.connect();
  register({ name: 'target-producer', close: () => targetProducer.disconnect() });
  const intakeEvents = createEventPublisher({
    producers: [producer, secondIntakeProducer],
    binding: eventsBinding,
  });
  register({ name: 'intake-events', close: () => intakeEvents.close() });
  const dispatchEvents = createEventPublisher({
    producers: [dispatchEventsProducer],
    binding: eventsBinding,
  });
  register({ name: 'dispatch-events', close: () => dispatchEvents.close() });
  const admin = kafka.admin();
  await admin.connect();
  register({ name: 'kafka-admin', close: () => admin.disconnect() });

  const registry = new Registry();
  const metrics = createMetrics(registry, store);
  const dispatcher = createDispatcher({
    store,
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
  const runner = createConsumerRunner({
    kafka,
    contracts,
    producer,
    logger,
    groupId: config.DELAY_QUEUE_CONSUMER_GROUP,
    partitionsConsumedConcurrently: config.DELAY_QUEUE_INTAKE_CONCURRENCY,
    retry: { maxDelayMs: config.DELAY_QUEUE_BACKOFF_MAX_MS },
    shutdownDeadlineMs: config.SHUTDOWN_DEADLINE_MS,
    sessionTimeoutMs: config.DELAY_QUEUE_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: Math.floor(config.DELAY_QUEUE_SESSION_TIMEOUT_MS / 10),
    subscriptions: [
      subscription(
        requestsBinding,
        createIntakeHandler({
          store,
          events: intakeEvents,
          clock,
          metrics,
          logger: logger.child({ component: 'intake' }),
          validator: createRequestValidator({
            maxHorizonMs: config.DELAY_QUEUE_MAX_HORIZON_MS,
            maxRecordBytes: config.DELAY_QUEUE_MAX_RECORD_BYTES,
            extraTopics: config.DELAY_QUEUE_EXTRA_TOPICS,
            registry: contracts.registry,
          }),
          onScheduled: (dueAt) => dispatcher.notify(dueAt),
        }),
      ),
    ],
  });

  const checks: ReadinessCheck[] = [
    { name: 'redis', check: () => redisReady(redis) },
    { name: 'kafka', check: () => kafkaReachable(admin) },
    { name: 'intake', check: () => runner.isRunning() },
  ];
  const ops = await startOpsServer({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    registry,
    checks,
    logger,
  });
  register({ name: 'ops-server', close: () => ops.close() });
  logger.info({ url: ops.url() }, 'ops server listening');

  register({ name: 'dispatcher', close: () => dispatcher.close() });
  await store.subscribeWakeups(subscriber, (earliest) => dispatcher.notify(earliest));
  dispatcher.start();
  register({ name: 'intake', close: () => runner.close() });
  await runner.start();
  return { ops, store, dispatcher };
}
