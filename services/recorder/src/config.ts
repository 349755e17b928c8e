import { topicSpec } from '@openpenpal/contracts';
import {
  baseConfigShape,
  httpPort,
  postgresUrl,
  topicName,
  booleanFlag,
  csv,
  loadConfig,
  positiveInt,
} from '@openpenpal/service-kit';
import { z } from 'zod';

const schemaName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case PostgreSQL identifier')
  .max(60, 'at most 60 characters');

/**
 * The recorder's settings. Topic names, the consumer group and both PostgreSQL schemas are settings so
 * that tests (and a second deployment on shared servers) run in isolation.
 */
const shape = {
  ...baseConfigShape,
  HTTP_PORT: httpPort.default(8_103),
  KAFKA_BROKERS: csv,
  KAFKA_CLIENT_ID: z.string().min(1).default('recorder'),
  DATABASE_URL: postgresUrl,
  DATABASE_POOL_SIZE: positiveInt.default(10),
  EVENT_STORE_BACKEND: z.enum(['postgres', 'esdb']).default('postgres'),
  EVENT_STORE_PG_SCHEMA: schemaName.default('event_store'),
  EVENTSTORE_CONNECTION_STRING: z.string().optional(),
  RECORDER_DB_SCHEMA: schemaName.default('recorder'),
  RECORDER_GROUP_ID: z.string().min(1).default('recorder'),
  RECORDER_EXECUTION_EVENTS_TOPIC: topicName.default(topicSpec('scheduler.execution-events').name),
  RECORDER_DELAY_EVENTS_TOPIC: topicName.default(topicSpec('scheduler.delay-events').name),
  RECORDER_NOTIFICATION_EVENTS_TOPIC: topicName.default(topicSpec('scheduler.notifications.events').name),
  RECORDER_DEFINITIONS_TOPIC: topicName.default(topicSpec('scheduler.task-definitions').name),
  RECORDER_COMMANDS_TOPIC: topicName.default(topicSpec('scheduler.task-commands').name),
  RECORDER_PROVISION_TOPICS: booleanFlag.default(true),
  RECORDER_PARTITIONS_CONCURRENTLY: positiveInt.default(3),
  RECORDER_MAX_EVENTS_PER_APPEND: positiveInt.default(1_000),
  RECORDER_MAX_STREAMS_PER_APPEND: positiveInt.default(500),
  RECORDER_FETCH_MAX_WAIT_MS: positiveInt.default(500),
  RECORDER_PROJECTOR_ENABLED: booleanFlag.default(true),
  RECORDER_PROJECTOR_BATCH: positiveInt.default(2_000),
  RECORDER_PROJECTOR_FLUSH_MS: positiveInt.default(50),
  RECORDER_RELAY_ENABLED: booleanFlag.default(true),
  RECORDER_SESSION_TIMEOUT_MS: positiveInt.default(30_000),
};

const recorderConfigSchema = z.object(shape).superRefine((config, ctx) => {
  if (config.EVENT_STORE_BACKEND === 'esdb' && !config.EVENTSTORE_CONNECTION_STRING) {
    ctx.addIssue({
      code: 'custom',
      path: ['EVENTSTORE_CONNECTION_STRING'],
      message: 'required when EVENT_STORE_BACKEND is esdb',
    });
  }
});

export type RecorderConfig = z.output<typeof recorderConfigSchema>;

/** What `rebuild` needs: the databases only (no Kafka). The same variables as the service. */
const rebuildConfigSchema = z.object({
  LOG_LEVEL: shape.LOG_LEVEL,
  DATABASE_URL: shape.DATABASE_URL,
  EVENT_STORE_BACKEND: shape.EVENT_STORE_BACKEND,
  EVENT_STORE_PG_SCHEMA: shape.EVENT_STORE_PG_SCHEMA,
  EVENTSTORE_CONNECTION_STRING: shape.EVENTSTORE_CONNECTION_STRING,
  RECORDER_DB_SCHEMA: shape.RECORDER_DB_SCHEMA,
  RECORDER_PROJECTOR_BATCH: shape.RECORDER_PROJECTOR_BATCH,
});

export type RebuildConfig = z.output<typeof rebuildConfigSchema>;

export function loadRebuildConfig(env: NodeJS.ProcessEnv = process.env): RebuildConfig {
  return loadConfig(rebuildConfigSchema, env);
}

export function loadRecorderConfig(env: NodeJS.ProcessEnv = process.env): RecorderConfig {
  return loadConfig(recorderConfigSchema, env);
}
