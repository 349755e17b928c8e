import { randomUUID } from 'node:crypto';
import {
  createContracts,
  type ExecutionEvent,
  type SchemaName,
  type SchemaTypes,
} from '@openpenpal/contracts';
import { createPostgresEventStore, type PostgresEventStore } from '@openpenpal/event-store';
import { createProducer, type Producer } from '@openpenpal/messaging';
import { loadConfig } from '@openpenpal/service-kit';
import {
  collectTopics,
  createKafkaTestContext,
  createPgTestContext,
  type KafkaTestContext,
  type PgTestContext,
  type StackEnv,
  type TopicCollector,
} from '@openpenpal/test-kit';
import type pg from 'pg';
import { pino } from 'pino';
import type { RecorderConfig } from '../src/config.ts';
import { readModelNames, type ReadModelNames } from '../src/read-models/schema.ts';
import { recorderService } from '../src/service.ts';

export const contracts = createContracts();
export const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** One isolated recorder world: its own topics, consumer group and PostgreSQL schema. */
export interface RecorderWorld {
  pg: PgTestContext;
  kafka: KafkaTestContext;
  store: PostgresEventStore;
  producer: Producer;
  names: ReadModelNames;
  /** The recorder's variables for this world (for an in-process recorder or a spawned one). */
  env: Record<string, string>;
  config: RecorderConfig;
  close(): Promise<void>;
}

export async function createRecorderWorld(
  stack: StackEnv,
  options: { executionPartitions?: number; env?: Record<string, string> } = {},
): Promise<RecorderWorld> {
  const pgCtx = await createPgTestContext(stack);
  const kafkaCtx = await createKafkaTestContext(stack, {
    executions: options.executionPartitions ?? 3,
    delays: 2,
    notifications: 2,
    // One partition: tests read the relay's messages in the order it published them.
    definitions: { partitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    commands: 2,
  });
  const topics = kafkaCtx.topics;
  // The dead-letter topics are `<topic>.dlq`: create them under those names.
  const admin = kafkaCtx.kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: ['executions', 'delays', 'notifications'].map((label) => ({
      topic: `${topics[label]!}.dlq`,
      numPartitions: 1,
    })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  const env: Record<string, string> = {
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    HTTP_PORT: '0',
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    DATABASE_URL: stack.databaseUrl,
    DATABASE_POOL_SIZE: '6',
    EVENT_STORE_PG_SCHEMA: pgCtx.schema,
    RECORDER_DB_SCHEMA: pgCtx.schema,
    KAFKA_GROUP_ID: kafkaCtx.groupId('recorder'),
    RECORDER_EXECUTION_EVENTS_TOPIC: topics.executions!,
    RECORDER_DELAY_EVENTS_TOPIC: topics.delays!,
    RECORDER_NOTIFICATION_EVENTS_TOPIC: topics.notifications!,
    RECORDER_DEFINITIONS_TOPIC: topics.definitions!,
    RECORDER_COMMANDS_TOPIC: topics.commands!,
    KAFKA_PROVISION_TOPICS: 'false',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    RECORDER_FETCH_MAX_WAIT_MS: '100',
    SHUTDOWN_DEADLINE_MS: '10000',
    ...options.env,
  };
  const store = createPostgresEventStore({ pool: pgCtx.pool, schema: pgCtx.schema, pollIntervalMs: 200 });
  await store.migrate();
  const producer = createProducer({ kafka: kafkaCtx.kafka, contracts, logger });
  await producer.connect();
  const dlqTopics = ['executions', 'delays', 'notifications'].map((label) => `${topics[label]!}.dlq`);
  return {
    pg: pgCtx,
    kafka: kafkaCtx,
    store,
    producer,
    names: readModelNames(pgCtx.schema),
    env,
    config: loadConfig(recorderService.configSchema, env),
    close: async () => {
      await producer.close();
      await store.close();
      const cleanup = kafkaCtx.kafka.admin();
      await cleanup.connect();
      await cleanup.deleteTopics({ topics: dlqTopics }).catch(() => undefined);
      await cleanup.disconnect();
      await kafkaCtx.close();
      await pgCtx.close();
    },
  };
}

const T0 = Date.parse('2026-12-01T00:00:00Z');

/** A realistic life of one execution: triggered, started, then succeeded or failed for good. */
export function executionLife(
  executionId: string,
  taskId: string,
  outcome: 'succeeded' | 'dead_lettered',
  at = T0,
): ExecutionEvent[] {
  const base = {
    execution_id: executionId,
    task_id: taskId,
    task_type: 'letter_cleanup' as const,
    worker: 'w-1',
  };
  const event = (offset: number, value: ExecutionEvent['event']): ExecutionEvent => ({
    ...base,
    event_id: randomUUID(),
    occurred_at: at + offset,
    event: value,
  });
  const life: ExecutionEvent[] = [
    event(0, {
      'org.openpenpal.scheduler.TaskTriggered': {
        nominal_time: at,
        fire_time: at,
        attempt: 1,
        source: 'cron',
        fencing_token: 1,
        trigger_topic: 'scheduler.trigger.letter-cleanup',
        original_execution_id: null,
        business_key: null,
      },
    }),
    event(1, { 'org.openpenpal.scheduler.ExecutionStarted': { attempt: 1, started_at: at + 1 } }),
  ];
  if (outcome === 'succeeded') {
    life.push(
      event(20, {
        'org.openpenpal.scheduler.ExecutionSucceeded': {
          attempt: 1,
          succeeded_at: at + 20,
          duration_ms: 19,
          result: '{"n":1}',
        },
      }),
    );
  } else {
    life.push(
      event(20, {
        'org.openpenpal.scheduler.ExecutionFailed': {
          attempt: 1,
          failed_at: at + 20,
          duration_ms: 19,
          error_code: 'NON_RETRYABLE_FAILURE',
          error_message: 'broken row',
          retryable: false,
        },
      }),
      event(21, {
        'org.openpenpal.scheduler.ExecutionDeadLettered': {
          attempts: 1,
          error_code: 'NON_RETRYABLE_FAILURE',
          error_message: 'broken row',
          dead_letter_topic: 'scheduler.trigger.letter-cleanup.dlq',
        },
      }),
    );
  }
  return life;
}

/** Sends execution events keyed by execution id, with the event id as message id. */
export async function sendExecutionEvents(
  world: RecorderWorld,
  events: readonly ExecutionEvent[],
): Promise<void> {
  for (let index = 0; index < events.length; index += 1_000) {
    await world.producer.send(
      { topic: world.kafka.topics.executions!, schema: 'ExecutionEvent' },
      events
        .slice(index, index + 1_000)
        .map((value) => ({ key: value.execution_id, value, messageId: value.event_id })),
    );
  }
}

/** Every row of the read models, in key order, for comparing a live run with a rebuild. */
export async function readModelSnapshot(
  pool: pg.Pool,
  names: ReadModelNames,
): Promise<Record<string, unknown[]>> {
  const rows = async (table: string, key: string): Promise<unknown[]> =>
    (await pool.query<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY ${key}`)).rows;
  // When and how often an event was parked or retried differs between runs; what was parked must not.
  const parked = await pool.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [
    `"${names.schema}".parked_events`,
  ]);
  return {
    executions: await rows(names.executions, 'execution_id'),
    task_stats: await rows(names.taskStats, 'task_id'),
    tasks: await rows(names.tasks, 'task_id'),
    parked_events: parked.rows[0]?.exists
      ? await rows(
          `(SELECT projection, stream_id, revision, position, event_id, event_type, error_code, error_message
              FROM "${names.schema}".parked_events) AS parked`,
          'projection, position',
        )
      : [],
  };
}

export async function countEvents(
  pool: pg.Pool,
  schema: string,
): Promise<{ total: number; distinct: number }> {
  const result = await pool.query<{ total: number; distinct: number }>(
    `SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS distinct FROM "${schema}".events`,
  );
  return result.rows[0] ?? { total: 0, distinct: 0 };
}

/** Reads a topic from the beginning, decoding values with its schema, until closed. */
export function collectTopic<S extends SchemaName>(
  world: RecorderWorld,
  topic: string,
  schema: S,
): Promise<TopicCollector<SchemaTypes[S]>> {
  const codec = contracts.codec(schema);
  return collectTopics(world.kafka.kafka, [topic], (bytes) => codec.decode(bytes));
}

/** The stored position of a checkpoint (-1 when it has none yet). */
export async function checkpointOf(world: RecorderWorld, name: string): Promise<bigint> {
  const result = await world.pg.pool.query<{ position: string }>(
    `SELECT position FROM ${world.names.checkpoints} WHERE name = $1`,
    [name],
  );
  return BigInt(result.rows[0]?.position ?? '-1');
}

/** The position of the last event stored in a category (0 when none). */
export async function lastPosition(world: RecorderWorld, category: string): Promise<bigint> {
  const result = await world.pg.pool.query<{ position: string | null }>(
    `SELECT max(position)::text AS position FROM "${world.pg.schema}".events WHERE category = $1`,
    [category],
  );
  return BigInt(result.rows[0]?.position ?? '0');
}

/** The parked events of the world's read models, in position order. */
export async function parkedRows(world: RecorderWorld): Promise<Record<string, unknown>[]> {
  const result = await world.pg.pool.query<Record<string, unknown>>(
    `SELECT * FROM "${world.pg.schema}".parked_events ORDER BY position`,
  );
  return result.rows;
}

/** `value` with some fields of its event variant replaced (values a producer should not write). */
export function withVariantFields(value: ExecutionEvent, fields: Record<string, unknown>): ExecutionEvent {
  const [[name, variant]] = Object.entries(value.event) as [[string, object]];
  return { ...value, event: { [name]: { ...variant, ...fields } } as unknown as ExecutionEvent['event'] };
}
