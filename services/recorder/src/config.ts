import { topicSpec } from '@openpenpal/contracts';
import { eventStoreConfigShape, refineEventStoreConfig } from '@openpenpal/event-store';
import {
  booleanFlag,
  logLevel,
  positiveInt,
  postgresConfigShape,
  runtimeConfigShape,
  serviceConfig,
  topicName,
} from '@openpenpal/service-kit';
import { z } from 'zod';

const schemaName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case PostgreSQL identifier')
  .max(60, 'at most 60 characters');

/** Read models and the projector: what the read-model commands need besides the databases. */
const readModelShape = {
  RECORDER_DB_SCHEMA: schemaName.default('recorder'),
  RECORDER_PROJECTOR_BATCH: positiveInt.default(2_000),
};

/**
 * The recorder's settings: the runtime's (logging, ops listener, Kafka, shutdown), PostgreSQL, the
 * event store family shared with the admin API, then its own. Topic names and both PostgreSQL schemas
 * are settings so that tests (and a second deployment on shared servers) run in isolation.
 */
export const recorderConfigSchema = serviceConfig({
  ...runtimeConfigShape({ name: 'recorder', httpPort: 8_103 }),
  ...postgresConfigShape,
  ...eventStoreConfigShape,
  ...readModelShape,
  RECORDER_EXECUTION_EVENTS_TOPIC: topicName.default(topicSpec('scheduler.execution-events').name),
  RECORDER_DELAY_EVENTS_TOPIC: topicName.default(topicSpec('scheduler.delay-events').name),
  RECORDER_NOTIFICATION_EVENTS_TOPIC: topicName.default(topicSpec('scheduler.notifications.events').name),
  RECORDER_DEFINITIONS_TOPIC: topicName.default(topicSpec('scheduler.task-definitions').name),
  RECORDER_COMMANDS_TOPIC: topicName.default(topicSpec('scheduler.task-commands').name),
  RECORDER_PARTITIONS_CONCURRENTLY: positiveInt.default(3),
  RECORDER_MAX_EVENTS_PER_APPEND: positiveInt.default(1_000),
  RECORDER_MAX_STREAMS_PER_APPEND: positiveInt.default(500),
  RECORDER_FETCH_MAX_WAIT_MS: positiveInt.default(500),
  RECORDER_PROJECTOR_ENABLED: booleanFlag.default(true),
  RECORDER_PROJECTOR_FLUSH_MS: positiveInt.default(50),
  RECORDER_RELAY_ENABLED: booleanFlag.default(true),
}).superRefine(refineEventStoreConfig);

export type RecorderConfig = z.output<typeof recorderConfigSchema>;

/**
 * What the read-model commands (`rebuild`, `retry-parked`) read: the recorder's own variables for the
 * databases only (they need no Kafka).
 */
export const databaseCommandConfigSchema = z
  .object({
    LOG_LEVEL: logLevel.default('info'),
    ...postgresConfigShape,
    ...eventStoreConfigShape,
    ...readModelShape,
  })
  .superRefine(refineEventStoreConfig);
