import { createContracts, unionBranch, type ExecutionEvent, type TaskTrigger } from '@openpenpal/contracts';
import { sampleTrigger } from '@openpenpal/contracts/samples';
import {
  loadConfig,
  startService,
  type RunningService,
  type ServiceDefinition,
} from '@openpenpal/service-kit';
import {
  collectTopics,
  createKafkaTestContext,
  createPgTestContext,
  uniqueName,
  type KafkaTestContext,
  type PgTestContext,
  type StackEnv,
  type TopicCollector,
} from '@openpenpal/test-kit';
import { pino } from 'pino';
import { delayQueueService } from '@openpenpal/delay-queue/service';
import { defineHandlerService, type HandlerConfig } from '../src/index.ts';
import { createProbeTable, probeHandler } from './fixtures/probe-handler.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
export const contracts = createContracts();

export interface HandlerWorldOptions {
  env?: Record<string, string>;
  /** Runs the real delay queue on the world's delay-requests topic (for retries). */
  delayQueue?: boolean;
}

export interface HandlerWorld {
  kafka: KafkaTestContext;
  pg: PgTestContext;
  env: Record<string, string>;
  service: RunningService<HandlerConfig>;
  events: TopicCollector<ExecutionEvent>;
  /** Sends a trigger to the handler's topic. */
  send(trigger: TaskTrigger): Promise<void>;
  /** Starts another instance of the handler in the same group (closed with the world). */
  startReplica(): Promise<RunningService<HandlerConfig>>;
  /** The short names of an execution's events, in arrival order. */
  eventsOf(executionId: string): { type: string; value: ExecutionEvent }[];
  close(): Promise<void>;
}

export function probeTrigger(
  payload: Record<string, unknown>,
  overrides: Partial<TaskTrigger> = {},
): TaskTrigger {
  return sampleTrigger({
    task_id: uniqueName('task'),
    task_type: 'daily_report',
    task_name: 'probe',
    nominal_time: Date.now(),
    fire_time: Date.now(),
    max_retries: 0,
    timeout_secs: 30,
    payload: JSON.stringify(payload),
    source: 'run_now',
    fencing_token: 0,
    ...overrides,
  });
}

/** The handler kit on a probe handler, with topics, group and schema of its own. */
export async function startHandlerWorld(
  stack: StackEnv,
  options: HandlerWorldOptions = {},
): Promise<HandlerWorld> {
  const kafka = await createKafkaTestContext(stack, {});
  const pg = await createPgTestContext(stack);
  await createProbeTable(pg.pool);
  const env = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: kafka.groupId('handler'),
    DATABASE_URL: stack.databaseUrl,
    HANDLER_DB_SCHEMA: pg.schema,
    HANDLER_TRIGGER_TOPIC: uniqueName('t-trigger'),
    HANDLER_EXECUTION_EVENTS_TOPIC: uniqueName('t-exec'),
    HANDLER_DELAY_REQUESTS_TOPIC: uniqueName('t-delay'),
    HANDLER_RETRY_INITIAL_DELAY_MS: '400',
    HANDLER_RETRY_MAX_DELAY_MS: '2000',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  const delayQueue = options.delayQueue
    ? await startService(delayQueueService, {
        config: loadConfig(delayQueueService.configSchema, {
          KAFKA_BROKERS: env.KAFKA_BROKERS,
          KAFKA_GROUP_ID: kafka.groupId('delay-queue'),
          REDIS_URL: stack.redisUrl,
          REDIS_KEY_PREFIX: uniqueName('t-hk-dq'),
          DELAY_QUEUE_REQUESTS_TOPIC: env.HANDLER_DELAY_REQUESTS_TOPIC,
          DELAY_QUEUE_EVENTS_TOPIC: uniqueName('t-delay-events'),
          DELAY_QUEUE_EXTRA_TOPICS: env.HANDLER_TRIGGER_TOPIC,
          HTTP_PORT: '0',
          LOG_LEVEL: 'silent',
        }),
        logger,
      })
    : undefined;
  const definition: ServiceDefinition<HandlerConfig> = defineHandlerService(probeHandler(pg.pool), {
    httpPort: 0,
  });
  const service = await startService(definition, {
    config: loadConfig(definition.configSchema, env),
    logger,
  });
  const replicas: RunningService<HandlerConfig>[] = [];
  const codec = contracts.codec('ExecutionEvent');
  const events = await collectTopics(kafka.kafka, [env.HANDLER_EXECUTION_EVENTS_TOPIC], (b) =>
    codec.decode(b),
  );
  const triggers = { topic: env.HANDLER_TRIGGER_TOPIC, schema: 'TaskTrigger' as const };
  return {
    kafka,
    pg,
    env,
    service,
    events,
    send: async (trigger) => {
      await service.ctx.producer.send(triggers, [
        { key: trigger.task_id, value: trigger, messageId: trigger.execution_id },
      ]);
    },
    startReplica: async () => {
      const replica = await startService(definition, {
        config: loadConfig(definition.configSchema, { ...env, INSTANCE_ID: uniqueName('replica') }),
        logger,
      });
      replicas.push(replica);
      return replica;
    },
    eventsOf: (executionId) =>
      events.messages
        .filter((m) => m.value?.execution_id === executionId)
        .map((m) => {
          const value = m.value as ExecutionEvent;
          return { type: unionBranch(value.event).name.replace('org.openpenpal.scheduler.', ''), value };
        }),
    close: async () => {
      await events.close();
      for (const replica of replicas) await replica.close();
      await service.close();
      await delayQueue?.close();
      const admin = kafka.kafka.admin();
      await admin.connect();
      const topics = [
        env.HANDLER_TRIGGER_TOPIC,
        env.HANDLER_EXECUTION_EVENTS_TOPIC,
        env.HANDLER_DELAY_REQUESTS_TOPIC,
      ];
      await admin.deleteTopics({ topics: topics.flatMap((t) => [t, `${t}.dlq`]) }).catch(() => undefined);
      await admin.disconnect();
      await kafka.close();
      await pg.close();
    },
  };
}
