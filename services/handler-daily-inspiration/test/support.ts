import {
  createContracts,
  type ExecutionEvent,
  type NotificationRequested,
  type TaskTrigger,
} from '@openpenpal/contracts';
import { sampleTrigger } from '@openpenpal/contracts/samples';
import { migrateDomain } from '@openpenpal/domain';
import { createProducer, type Producer } from '@openpenpal/messaging';
import { loadConfig, startService, type RunningService } from '@openpenpal/service-kit';
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
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { inspirationService } from '../src/service.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const contracts = createContracts();
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface InspirationWorld {
  kafka: KafkaTestContext;
  pg: PgTestContext;
  env: Record<string, string>;
  notifications: TopicCollector<NotificationRequested>;
  executions: TopicCollector<ExecutionEvent>;
  dlq: TopicCollector<Buffer>;
  producer: Producer;
  startService(): Promise<void>;
  stopService(): Promise<void>;
  trigger(trigger: TaskTrigger): Promise<void>;
  close(): Promise<void>;
}

/** The handler with topics, groups and a domain schema of its own. */
export async function startInspirationWorld(
  stack: StackEnv,
  overrides: Record<string, string> = {},
): Promise<InspirationWorld> {
  const kafka = await createKafkaTestContext(stack, {});
  const pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: kafka.groupId('inspiration'),
    DATABASE_URL: stack.databaseUrl,
    HANDLER_DB_SCHEMA: pg.schema,
    DOMAIN_DB_SCHEMA: pg.schema,
    HANDLER_TRIGGER_TOPIC: uniqueName('t-in-trigger'),
    HANDLER_EXECUTION_EVENTS_TOPIC: uniqueName('t-in-exec'),
    HANDLER_DELAY_REQUESTS_TOPIC: uniqueName('t-in-delay'),
    HANDLER_WRITING_INSPIRATION_PUSH_NOTIFICATIONS_TOPIC: uniqueName('t-in-notify'),
    OUTBOX_RELAY_POLL_MS: '200',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    ...overrides,
  };
  let service: RunningService<never> | undefined;
  const start = async () => {
    service = (await startService(inspirationService, {
      config: loadConfig(inspirationService.configSchema, env),
      logger,
    })) as unknown as RunningService<never>;
  };
  await start();
  const producer = createProducer({ kafka: kafka.kafka, contracts, logger });
  const notifications = await collectTopics(
    kafka.kafka,
    [env.HANDLER_WRITING_INSPIRATION_PUSH_NOTIFICATIONS_TOPIC!],
    (b) => contracts.codec('NotificationRequested').decode(b),
  );
  const executions = await collectTopics(kafka.kafka, [env.HANDLER_EXECUTION_EVENTS_TOPIC!], (b) =>
    contracts.codec('ExecutionEvent').decode(b),
  );
  const dlq = await collectTopics(kafka.kafka, [`${env.HANDLER_TRIGGER_TOPIC}.dlq`]);
  return {
    kafka,
    pg,
    env,
    notifications,
    executions,
    dlq,
    producer,
    startService: start,
    stopService: async () => {
      await service?.close();
      service = undefined;
    },
    trigger: async (trigger) => {
      await producer.send({ topic: env.HANDLER_TRIGGER_TOPIC!, schema: 'TaskTrigger' }, [
        { key: trigger.task_id, value: trigger, messageId: trigger.execution_id },
      ]);
    },
    close: async () => {
      await Promise.all([notifications.close(), executions.close(), dlq.close()]);
      await service?.close();
      await producer.close();
      await kafka.close();
      await pg.close();
    },
  };
}

/** The quarter-hourly cron trigger of the seeded task for a nominal time (a new execution each call). */
export function pushTrigger(
  nominal: number,
  payload: Record<string, unknown> = { local_time: '20:00' },
  overrides: Partial<TaskTrigger> = {},
) {
  return sampleTrigger({
    execution_id: randomUUID(),
    task_id: 'writing_inspiration_push',
    task_type: 'writing_inspiration_push',
    task_name: 'Daily Writing Inspiration Push',
    timezone: 'UTC',
    nominal_time: nominal,
    fire_time: nominal,
    payload: JSON.stringify(payload),
    source: 'cron',
    max_retries: 0,
    timeout_secs: 600,
    ...overrides,
  });
}

export interface PreferenceRow {
  user_id: string;
  timezone: string;
  enabled?: boolean;
  language?: string;
  active?: boolean;
}

/** Users and their notification preferences in the world's schema. */
export async function insertPreferences(pg: PgTestContext, rows: readonly PreferenceRow[]): Promise<void> {
  await pg.pool.query(
    `INSERT INTO users (id, username, is_active) SELECT u, u, a FROM unnest($1::text[], $2::bool[]) AS x(u, a)`,
    [rows.map((r) => r.user_id), rows.map((r) => r.active ?? true)],
  );
  await pg.pool.query(
    `INSERT INTO notification_preferences (user_id, timezone, inspiration_enabled, language)
     SELECT u, z, e, l FROM unnest($1::text[], $2::text[], $3::bool[], $4::text[]) AS x(u, z, e, l)`,
    [
      rows.map((r) => r.user_id),
      rows.map((r) => r.timezone),
      rows.map((r) => r.enabled ?? true),
      rows.map((r) => r.language ?? 'zh-CN'),
    ],
  );
}

/** The `result` of the execution's ExecutionSucceeded, parsed; undefined until it arrived. */
export function succeededResult(
  world: InspirationWorld,
  executionId: string,
): Record<string, unknown> | undefined {
  for (const message of world.executions.messages) {
    const value = message.value;
    if (value?.execution_id !== executionId) continue;
    const succeeded = (value.event as Record<string, { result?: string | null } | undefined>)[
      'org.openpenpal.scheduler.ExecutionSucceeded'
    ];
    if (succeeded) return JSON.parse(succeeded.result ?? '{}') as Record<string, unknown>;
  }
  return undefined;
}

/** Runs the handler's entry point as a process with `env`. */
export function runProcess(env: Record<string, string>): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...env, HTTP_PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { child, exited: new Promise((resolve) => child.once('exit', resolve)) };
}
