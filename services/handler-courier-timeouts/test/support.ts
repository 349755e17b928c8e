import {
  createContracts,
  type CourierTaskEvent,
  type CourierTaskTimeoutEvent,
  type ExecutionEvent,
  type InboundEventRejected,
  type NotificationRequested,
  type TaskTrigger,
} from '@openpenpal/contracts';
import { delayQueueService } from '@openpenpal/delay-queue/service';
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
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { courierTimeoutsService } from '../src/service.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const contracts = createContracts();

export interface CourierWorld {
  kafka: KafkaTestContext;
  pg: PgTestContext;
  env: Record<string, string>;
  results: TopicCollector<CourierTaskTimeoutEvent>;
  notifications: TopicCollector<NotificationRequested>;
  rejections: TopicCollector<InboundEventRejected>;
  executions: TopicCollector<ExecutionEvent>;
  dlq: TopicCollector<Buffer>;
  producer: Producer;
  /** Starts one more replica of the handler in this process (same group, same schema). */
  startReplica(): Promise<void>;
  publish(taskId: string, event: CourierTaskEvent['event']): Promise<void>;
  trigger(trigger: TaskTrigger): Promise<void>;
  close(): Promise<void>;
}

/** The handler with topics, groups and a domain schema of its own, and the real delay queue. */
export async function startCourierWorld(
  stack: StackEnv,
  overrides: Record<string, string> = {},
): Promise<CourierWorld> {
  const kafka = await createKafkaTestContext(stack, {});
  const pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: kafka.groupId('courier-timeouts'),
    DATABASE_URL: stack.databaseUrl,
    HANDLER_DB_SCHEMA: pg.schema,
    DOMAIN_DB_SCHEMA: pg.schema,
    HANDLER_TRIGGER_TOPIC: uniqueName('t-ct-trigger'),
    HANDLER_EXECUTION_EVENTS_TOPIC: uniqueName('t-ct-exec'),
    HANDLER_DELAY_REQUESTS_TOPIC: uniqueName('t-ct-delay'),
    HANDLER_COURIER_TIMEOUT_CHECK_EVENTS_TOPIC: uniqueName('t-ct-events'),
    HANDLER_COURIER_TIMEOUT_CHECK_RESULTS_TOPIC: uniqueName('t-ct-results'),
    HANDLER_COURIER_TIMEOUT_CHECK_REJECTIONS_TOPIC: uniqueName('t-ct-rejected'),
    HANDLER_COURIER_TIMEOUT_CHECK_NOTIFICATIONS_TOPIC: uniqueName('t-ct-notify'),
    HANDLER_RETRY_INITIAL_DELAY_MS: '300',
    HANDLER_RETRY_MAX_DELAY_MS: '1000',
    OUTBOX_RELAY_POLL_MS: '200',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    ...overrides,
  };
  const delayQueue = await startService(delayQueueService, {
    config: loadConfig(delayQueueService.configSchema, {
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      KAFKA_GROUP_ID: kafka.groupId('delay-queue'),
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: uniqueName('t-ct-dq'),
      DELAY_QUEUE_REQUESTS_TOPIC: env.HANDLER_DELAY_REQUESTS_TOPIC,
      DELAY_QUEUE_EVENTS_TOPIC: uniqueName('t-ct-delay-events'),
      DELAY_QUEUE_EXTRA_TOPICS: env.HANDLER_TRIGGER_TOPIC,
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
    }),
    logger,
  });
  const services: RunningService<never>[] = [];
  const startReplica = async () => {
    services.push(
      (await startService(courierTimeoutsService, {
        config: loadConfig(courierTimeoutsService.configSchema, env),
        logger,
      })) as unknown as RunningService<never>,
    );
  };
  await startReplica();
  const producer = createProducer({ kafka: kafka.kafka, contracts, logger });
  const collect = <T>(topic: string | undefined, schema: Parameters<typeof contracts.codec>[0]) =>
    collectTopics(kafka.kafka, [topic!], (b) => contracts.codec(schema).decode(b) as T);
  const results = await collect<CourierTaskTimeoutEvent>(
    env.HANDLER_COURIER_TIMEOUT_CHECK_RESULTS_TOPIC,
    'CourierTaskTimeoutEvent',
  );
  const notifications = await collect<NotificationRequested>(
    env.HANDLER_COURIER_TIMEOUT_CHECK_NOTIFICATIONS_TOPIC,
    'NotificationRequested',
  );
  const rejections = await collect<InboundEventRejected>(
    env.HANDLER_COURIER_TIMEOUT_CHECK_REJECTIONS_TOPIC,
    'InboundEventRejected',
  );
  const executions = await collect<ExecutionEvent>(env.HANDLER_EXECUTION_EVENTS_TOPIC, 'ExecutionEvent');
  const dlq = await collectTopics(kafka.kafka, [`${env.HANDLER_TRIGGER_TOPIC}.dlq`]);
  return {
    kafka,
    pg,
    env,
    results,
    notifications,
    rejections,
    executions,
    dlq,
    producer,
    startReplica,
    publish: async (taskId, event) => {
      await producer.send(
        { topic: env.HANDLER_COURIER_TIMEOUT_CHECK_EVENTS_TOPIC!, schema: 'CourierTaskEvent' },
        [{ key: taskId, value: { eventId: randomUUID(), occurredAt: Date.now(), event } }],
      );
    },
    trigger: async (trigger) => {
      await producer.send({ topic: env.HANDLER_TRIGGER_TOPIC!, schema: 'TaskTrigger' }, [
        { key: trigger.task_id, value: trigger, messageId: trigger.execution_id },
      ]);
    },
    close: async () => {
      await Promise.all([
        results.close(),
        notifications.close(),
        rejections.close(),
        executions.close(),
        dlq.close(),
      ]);
      for (const service of services.reverse()) await service.close();
      await delayQueue.close();
      await producer.close();
      await kafka.close();
      await pg.close();
    },
  };
}

export interface CourierRow {
  id: string;
  user_id?: string;
  level: number;
  prefix: string | null;
  zone_code?: string;
  status?: string;
  rating?: number;
  max_daily_tasks?: number;
}

export async function insertCouriers(pg: PgTestContext, rows: readonly CourierRow[]): Promise<void> {
  await pg.pool.query(
    `INSERT INTO couriers (id, user_id, name, level, zone_code, managed_op_code_prefix, status, rating, max_daily_tasks)
     SELECT id, user_id, id, level, zone_code, prefix, status, rating, cap
     FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::numeric[], $8::int[])
       AS c(id, user_id, level, zone_code, prefix, status, rating, cap)`,
    [
      rows.map((c) => c.id),
      rows.map((c) => c.user_id ?? `user-${c.id}`),
      rows.map((c) => c.level),
      rows.map((c) => c.zone_code ?? `zone-${c.level}`),
      rows.map((c) => c.prefix),
      rows.map((c) => c.status ?? 'approved'),
      rows.map((c) => c.rating ?? 4.5),
      rows.map((c) => c.max_daily_tasks ?? 10),
    ],
  );
}

export interface TaskRow {
  id: string;
  courier_id: string | null;
  status?: string;
  accepted_at?: Date | null;
  timeout_count?: number;
  last_timeout_notice_at?: Date | null;
  op_code?: string | null;
  letter_code?: string;
}

export async function insertTasks(pg: PgTestContext, rows: readonly TaskRow[]): Promise<void> {
  await pg.pool.query(
    `INSERT INTO courier_tasks (id, courier_id, letter_code, status, accepted_at, deadline, timeout_count,
       last_timeout_notice_at, pickup_op_code, delivery_op_code)
     SELECT id, courier, code, status, accepted, accepted + interval '48 hours', count, notice, op, op
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::int[], $7::timestamptz[], $8::text[])
       AS t(id, courier, code, status, accepted, count, notice, op)`,
    [
      rows.map((t) => t.id),
      rows.map((t) => t.courier_id),
      rows.map((t) => t.letter_code ?? `LC${t.id.slice(-6)}`),
      rows.map((t) => t.status ?? 'accepted'),
      rows.map((t) => (t.accepted_at === undefined ? new Date() : t.accepted_at)),
      rows.map((t) => t.timeout_count ?? 0),
      rows.map((t) => t.last_timeout_notice_at ?? null),
      rows.map((t) => (t.op_code === undefined ? 'PK5F3D' : t.op_code)),
    ],
  );
}

export async function taskState(pg: PgTestContext, id: string) {
  const { rows } = await pg.pool.query<{
    courier_id: string | null;
    status: string;
    accepted_at: Date | null;
    deadline: Date | null;
    timeout_count: number;
    last_timeout_notice_at: Date | null;
  }>(
    'SELECT courier_id, status, accepted_at, deadline, timeout_count, last_timeout_notice_at FROM courier_tasks WHERE id = $1',
    [id],
  );
  return rows[0];
}

export async function histories(pg: PgTestContext, taskId: string) {
  const { rows } = await pg.pool.query<{
    previous_courier_id: string;
    new_courier_id: string;
    assignment_type: string;
    reassignment_reason: string;
  }>(
    'SELECT previous_courier_id, new_courier_id, assignment_type, reassignment_reason FROM task_assignment_histories WHERE task_id = $1',
    [taskId],
  );
  return rows;
}
