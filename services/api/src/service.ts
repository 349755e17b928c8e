import { topicSpec } from '@openpenpal/contracts';
import { createDelayClient } from '@openpenpal/delay-client';
import { openEventStore } from '@openpenpal/event-store';
import { defineService, type TopicUse } from '@openpenpal/service-kit';
import { createTaskDefinitions } from '@openpenpal/task-definitions';
import type { FastifyInstance } from 'fastify';
import { apiConfigSchema, type ApiConfig } from './config.ts';
import type { ApiDeps } from './deps.ts';
import { createApiMetrics } from './metrics.ts';
import { createDelayedReads } from './read/delayed.ts';
import { createExecutionReads } from './read/executions.ts';
import { createTickerReads } from './read/scheduler.ts';
import { createTaskReads } from './read/tasks.ts';
import { buildServer } from './server.ts';

/** The topics the API writes; it owns none, so it waits for their owners to have created them. */
function apiTopics(config: ApiConfig): TopicUse[] {
  return [
    { spec: topicSpec('scheduler.task-commands'), name: config.API_COMMANDS_TOPIC },
    { spec: topicSpec('scheduler.delay-requests'), name: config.API_DELAY_REQUESTS_TOPIC },
    { spec: topicSpec('scheduler.execution-events'), name: config.API_EXECUTION_EVENTS_TOPIC },
    { spec: topicSpec('openpenpal.letters.future-letters'), name: config.API_FUTURE_LETTERS_TOPIC },
    { spec: topicSpec('openpenpal.ai.reply-requests'), name: config.API_AI_REPLY_REQUESTS_TOPIC },
    { spec: topicSpec('openpenpal.courier.task-events'), name: config.API_COURIER_TASK_EVENTS_TOPIC },
  ];
}

/**
 * The admin API: the event store (task commands, histories), the recorder's read models (lists),
 * Redis (the ticker's and delay queue's state, replay protection), the producer (commands, inbound
 * events, delay requests), all served on the runtime's one HTTP port with the ops routes.
 */
export function createApiService() {
  // What start built for each running instance, for its http app (one definition may start twice).
  const built = new WeakMap<object, ApiDeps>();
  return defineService({
    name: 'api',
    configSchema: apiConfigSchema,
    topics: apiTopics,
    start: async (ctx) => {
      const { config, logger } = ctx;
      const pool = ctx.postgres();
      // The recorder owns the store's schema (the API's database role may not change it).
      const eventStore = await openEventStore(config, {
        pool,
        logger: logger.child({ component: 'event-store' }),
        migrate: false,
      });
      ctx.register({ name: 'event-store', close: () => eventStore.close() });
      const { store } = eventStore;
      ctx.addReadinessCheck({
        name: 'event-store',
        check: async () => {
          await store.readAll({ maxCount: 1 });
          return true;
        },
      });
      const redis = await ctx.redis('state', { autoPipelining: true });
      const clock = { now: () => Date.now() };
      built.set(ctx, {
        config,
        instanceId: ctx.instanceId,
        clock,
        contracts: ctx.contracts,
        store,
        definitions: createTaskDefinitions({ store, clock }),
        tasks: createTaskReads(pool, config.API_READ_MODEL_SCHEMA, clock),
        executions: createExecutionReads(pool, config.API_READ_MODEL_SCHEMA, store),
        delayed: createDelayedReads(redis, config.API_DELAY_QUEUE_REDIS_PREFIX),
        ticker: createTickerReads(redis, config.API_TICKER_REDIS_PREFIX),
        producer: ctx.producer,
        delayClient: createDelayClient({
          producer: ctx.producer,
          topic: config.API_DELAY_REQUESTS_TOPIC,
          source: 'api',
          clock,
          contracts: ctx.contracts,
        }),
        redis,
        metrics: createApiMetrics(ctx.metrics.registry),
      });
    },
    http: (ctx, ops): FastifyInstance => {
      const deps = built.get(ctx);
      if (deps === undefined) throw new Error('the API started without its dependencies');
      return buildServer({ deps, ops, logger: ctx.logger });
    },
  });
}

export const apiService = createApiService();
