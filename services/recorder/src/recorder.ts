import type { Contracts } from '@openpenpal/contracts';
import type { EventStore } from '@openpenpal/event-store';
import type { Producer } from '@openpenpal/messaging';
import type { ReadinessCheck } from '@openpenpal/service-kit';
import type { RecordedKind } from '@openpenpal/task-definitions';
import type { Admin, Kafka } from 'kafkajs';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RecorderConfig } from './config.ts';
import { createRecorderConsumer } from './ingest/recorder-consumer.ts';
import { createRecorderMetrics } from './metrics.ts';
import { createCheckpoints } from './read-models/checkpoints.ts';
import { createProjector } from './read-models/projector.ts';
import { migrateReadModels, readModelNames } from './read-models/schema.ts';
import { createDefinitionRelay } from './relay/definition-relay.ts';

export interface RecorderDeps {
  config: RecorderConfig;
  pool: pg.Pool;
  store: EventStore;
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  contracts: Contracts;
  registry: Registry;
  logger: Logger;
}

export interface Recorder {
  /** Migrates the read models, then starts the projector, the relay and the consumer. */
  start(): Promise<void>;
  readinessChecks(): ReadinessCheck[];
  /** Stops the consumer first (no new events), then the relay and the projector; idempotent. */
  close(): Promise<void>;
}

/** The recorder's topics: what each recorded topic carries, keyed by its (configurable) name. */
function recordedTopics(config: RecorderConfig): Map<string, RecordedKind> {
  return new Map<string, RecordedKind>([
    [config.RECORDER_EXECUTION_EVENTS_TOPIC, 'execution'],
    [config.RECORDER_DELAY_EVENTS_TOPIC, 'delayed'],
    [config.RECORDER_NOTIFICATION_EVENTS_TOPIC, 'notification'],
  ]);
}

/** Wires the recorder's three parts: Kafka → event store, event store → read models, → Kafka relay. */
export function createRecorder(deps: RecorderDeps): Recorder {
  const { config, pool, store, logger } = deps;
  const names = readModelNames(config.RECORDER_DB_SCHEMA);
  const checkpoints = createCheckpoints(pool, names);
  const metrics = createRecorderMetrics({ registry: deps.registry });
  const consumer = createRecorderConsumer({
    kafka: deps.kafka,
    contracts: deps.contracts,
    store,
    producer: deps.producer,
    logger,
    groupId: config.RECORDER_GROUP_ID,
    topics: recordedTopics(config),
    partitionsConsumedConcurrently: config.RECORDER_PARTITIONS_CONCURRENTLY,
    maxEventsPerAppend: config.RECORDER_MAX_EVENTS_PER_APPEND,
    maxStreamsPerAppend: config.RECORDER_MAX_STREAMS_PER_APPEND,
    maxWaitTimeMs: config.RECORDER_FETCH_MAX_WAIT_MS,
    sessionTimeoutMs: config.RECORDER_SESSION_TIMEOUT_MS,
    observer: metrics.ingest,
  });
  const projector = config.RECORDER_PROJECTOR_ENABLED
    ? createProjector({
        pool,
        store,
        names,
        checkpoints,
        logger,
        maxBatch: config.RECORDER_PROJECTOR_BATCH,
        flushDelayMs: config.RECORDER_PROJECTOR_FLUSH_MS,
        onBatch: (projection, batch, durationMs) => metrics.projection(projection, batch, durationMs),
      })
    : undefined;
  const relay = config.RECORDER_RELAY_ENABLED
    ? createDefinitionRelay({
        store,
        producer: deps.producer,
        checkpoints,
        topics: { definitions: config.RECORDER_DEFINITIONS_TOPIC, commands: config.RECORDER_COMMANDS_TOPIC },
        logger,
        observer: metrics.relay,
      })
    : undefined;
  if (projector) metrics.watchPositions(() => projector.positions());
  let closing: Promise<void> | undefined;

  return {
    start: async () => {
      await migrateReadModels(pool, names);
      await projector?.start();
      await relay?.start();
      await consumer.start();
    },
    readinessChecks: () => [
      {
        name: 'postgres',
        check: async () => (await pool.query('SELECT 1')).rowCount === 1,
      },
      {
        name: 'kafka',
        check: async () => consumer.isRunning() && (await deps.admin.describeCluster()).brokers.length > 0,
      },
    ],
    close: () =>
      (closing ??= (async () => {
        await consumer.close();
        await relay?.close();
        await projector?.close();
      })()),
  };
}
