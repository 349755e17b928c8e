import { topicSpec, triggerTopicName, type TaskType } from '@openpenpal/contracts';
import { createDelayClient, type DelayClient } from '@openpenpal/delay-client';
import { subscription, type TopicBinding } from '@openpenpal/messaging';
import {
  defineService,
  positiveInt,
  postgresConfigShape,
  runtimeConfigShape,
  serviceConfig,
  topicName,
  type ServiceContext,
  type ServiceDefinition,
  type TopicUse,
} from '@openpenpal/service-kit';
import { systemClock, type Clock } from '@openpenpal/timing';
import { z } from 'zod';
import type { TaskHandlerDefinition } from './define.ts';
import { createExecutionStore } from './execution-store.ts';
import { createHandlerMetrics } from './metrics.ts';
import { runTrigger } from './run-trigger.ts';

const schemaName = z.string().regex(/^[a-z_][a-z0-9_]{0,59}$/, 'a lower-case PostgreSQL identifier');

const noSettings = {};

function handlerShape(taskType: TaskType, httpPort: number) {
  return {
    ...runtimeConfigShape({ name: handlerServiceName(taskType), httpPort }),
    ...postgresConfigShape,
    HANDLER_TRIGGER_TOPIC: topicName.default(triggerTopicName(taskType)),
    HANDLER_EXECUTION_EVENTS_TOPIC: topicName.default(topicSpec('scheduler.execution-events').name),
    HANDLER_DELAY_REQUESTS_TOPIC: topicName.default(topicSpec('scheduler.delay-requests').name),
    /** Where the kit keeps `handler_executions` (one row per execution: the idempotency record). */
    HANDLER_DB_SCHEMA: schemaName.default('scheduler_handlers'),
    /** Task-level retries: full jitter under initial × 2^(attempt−1), capped at the maximum. */
    HANDLER_RETRY_INITIAL_DELAY_MS: positiveInt.default(30_000),
    HANDLER_RETRY_MAX_DELAY_MS: positiveInt.default(3_600_000),
    HANDLER_CLAIM_MS: positiveInt.default(15_000),
    /** Partitions of the trigger topic worked on in parallel. */
    HANDLER_CONCURRENCY: positiveInt.default(3),
  };
}

/**
 * The settings every handler service shares, then the handler's own (`extra`: its
 * `HANDLER_<TYPE>_*` settings and shared shapes such as the domain database's).
 */
export function handlerConfigSchema<X extends z.ZodRawShape = typeof noSettings>(
  taskType: TaskType,
  httpPort: number,
  extra: X = noSettings as X,
) {
  return serviceConfig({ ...handlerShape(taskType, httpPort), ...extra });
}

export type HandlerConfig = z.output<z.ZodObject<ReturnType<typeof handlerShape>>>;

/** What the kit built, for a handler factory that needs more than its `handle()`. */
export interface HandlerKitParts {
  /** Schedules and cancels delayed messages (exact-time triggers) on the delay-requests topic. */
  delay: DelayClient;
  clock: Clock;
}

/**
 * Builds a handler from the running service (its pool, producer, extra consumers): called in
 * `start` before the trigger consumer starts; what it registers on `ctx` closes before the kit's parts.
 */
export type HandlerFactory<T extends TaskType, P, C extends HandlerConfig> = (
  ctx: ServiceContext<C>,
  kit: HandlerKitParts,
) => Promise<TaskHandlerDefinition<T, P>> | TaskHandlerDefinition<T, P>;

export interface HandlerServiceOptions<X extends z.ZodRawShape, C extends HandlerConfig> {
  httpPort: number;
  clock?: Clock;
  /** The handler's own settings, validated with the kit's. */
  config?: X;
  /** Topics the handler uses besides the kit's (inbound events, its results). */
  topics?: (config: C) => readonly TopicUse[];
}

/** `handler-future-letter-unlock` for `future_letter_unlock`. */
export function handlerServiceName(taskType: TaskType): string {
  return `handler-${taskType.replaceAll('_', '-')}`;
}

/**
 * A handler service: consumes its task type's trigger topic and runs each trigger under the
 * execution protocol (`runTrigger`). `start` runs after the kit's parts are up, for what a handler
 * needs besides (a provider client, a second pool).
 */
export function defineHandlerService<T extends TaskType, P, X extends z.ZodRawShape = typeof noSettings>(
  handlerOrFactory:
    | TaskHandlerDefinition<T, P>
    | { taskType: T; create: HandlerFactory<T, P, HandlerConfig & z.output<z.ZodObject<X>>> },
  options: HandlerServiceOptions<X, HandlerConfig & z.output<z.ZodObject<X>>>,
): ServiceDefinition<HandlerConfig & z.output<z.ZodObject<X>>> {
  type C = HandlerConfig & z.output<z.ZodObject<X>>;
  const taskType = handlerOrFactory.taskType;
  const configSchema = handlerConfigSchema(
    taskType,
    options.httpPort,
    options.config,
  ) as unknown as z.ZodType<C>;
  return defineService<C>({
    name: handlerServiceName(taskType),
    configSchema,
    topics: (config) => [
      { spec: topicSpec(triggerTopicName(taskType)), name: config.HANDLER_TRIGGER_TOPIC },
      { spec: topicSpec('scheduler.execution-events'), name: config.HANDLER_EXECUTION_EVENTS_TOPIC },
      { spec: topicSpec('scheduler.delay-requests'), name: config.HANDLER_DELAY_REQUESTS_TOPIC },
      ...(options.topics?.(config) ?? []),
    ],
    start: async (ctx) => {
      const { config } = ctx;
      const clock = options.clock ?? systemClock;
      const store = createExecutionStore(ctx.postgres(), config.HANDLER_DB_SCHEMA);
      await store.migrate();
      const triggers: TopicBinding<'TaskTrigger'> = {
        topic: config.HANDLER_TRIGGER_TOPIC,
        schema: 'TaskTrigger',
      };
      const delay = createDelayClient({
        producer: ctx.producer,
        topic: config.HANDLER_DELAY_REQUESTS_TOPIC,
        source: ctx.service,
        clock,
        contracts: ctx.contracts,
      });
      const handler =
        'create' in handlerOrFactory
          ? await handlerOrFactory.create(ctx, { delay, clock })
          : handlerOrFactory;
      const deps = {
        contracts: ctx.contracts,
        producer: ctx.producer,
        delay,
        store,
        clock,
        logger: ctx.logger.child({ component: 'executions' }),
        metrics: createHandlerMetrics(ctx.metrics.registry),
        worker: ctx.instanceId,
        groupId: config.KAFKA_GROUP_ID,
        triggers,
        executionEvents: { topic: config.HANDLER_EXECUTION_EVENTS_TOPIC, schema: 'ExecutionEvent' as const },
        retryBackoff: {
          initialDelayMs: config.HANDLER_RETRY_INITIAL_DELAY_MS,
          maxDelayMs: config.HANDLER_RETRY_MAX_DELAY_MS,
        },
        claimMs: config.HANDLER_CLAIM_MS,
      };
      const consumer = ctx.consumer({
        name: 'triggers',
        groupId: config.KAFKA_GROUP_ID,
        partitionsConsumedConcurrently: config.HANDLER_CONCURRENCY,
        // Failures of the task itself are retried at the task level (through the delay queue);
        // what reaches the runner is an outage or a busy attempt, which holds the partition.
        retry: { blockingErrorCodes: ['DEPENDENCY_UNAVAILABLE', 'EXECUTION_IN_PROGRESS'], maxDelayMs: 5_000 },
        subscriptions: [
          subscription(triggers, (message, { signal }) => runTrigger(deps, handler, message, signal)),
        ],
      });
      await consumer.start();
    },
  });
}
