import { topicSpec } from '@openpenpal/contracts';
import { openEventStore } from '@openpenpal/event-store';
import { defineService, type TopicUse } from '@openpenpal/service-kit';
import type { RecordedKind } from '@openpenpal/task-definitions';
import { recorderConfigSchema, type RecorderConfig } from './config.ts';
import { ingestSubscriptions } from './ingest/ingest.ts';
import { createRecorderMetrics } from './metrics.ts';
import { createCheckpoints } from './read-models/checkpoints.ts';
import { parkedEventsTable } from './read-models/parked-events.ts';
import { createProjector } from './read-models/projector.ts';
import { migrateReadModels, readModelNames } from './read-models/schema.ts';
import { createDefinitionRelay } from './relay/definition-relay.ts';

/** The recorded topics: what each carries, keyed by its (configurable) name. */
function recordedTopics(config: RecorderConfig): Map<string, RecordedKind> {
  return new Map<string, RecordedKind>([
    [config.RECORDER_EXECUTION_EVENTS_TOPIC, 'execution'],
    [config.RECORDER_DELAY_EVENTS_TOPIC, 'delayed'],
    [config.RECORDER_NOTIFICATION_EVENTS_TOPIC, 'notification'],
  ]);
}

function recorderTopics(config: RecorderConfig): TopicUse[] {
  return [
    { spec: topicSpec('scheduler.execution-events'), name: config.RECORDER_EXECUTION_EVENTS_TOPIC },
    { spec: topicSpec('scheduler.delay-events'), name: config.RECORDER_DELAY_EVENTS_TOPIC },
    { spec: topicSpec('scheduler.notifications.events'), name: config.RECORDER_NOTIFICATION_EVENTS_TOPIC },
    { spec: topicSpec('scheduler.task-definitions'), name: config.RECORDER_DEFINITIONS_TOPIC },
    { spec: topicSpec('scheduler.task-commands'), name: config.RECORDER_COMMANDS_TOPIC },
  ];
}

/**
 * The recorder: Kafka → event store (ingest), event store → read models (projector), event store →
 * Kafka (definition relay). Started in that dependency order — read models migrated, projector,
 * relay, then the consumer — so the runtime closes the consumer first (no new events) and the
 * store last.
 */
export const recorderService = defineService({
  name: 'recorder',
  configSchema: recorderConfigSchema,
  topics: recorderTopics,
  start: async (ctx) => {
    const { config, logger } = ctx;
    const pool = ctx.postgres();
    const eventStore = await openEventStore(config, {
      pool,
      logger: logger.child({ component: 'event-store' }),
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
    const metrics = createRecorderMetrics(ctx.metrics.registry);
    const names = readModelNames(config.RECORDER_DB_SCHEMA);
    const checkpoints = createCheckpoints(pool, names);
    await migrateReadModels(pool, names);

    if (config.RECORDER_PROJECTOR_ENABLED) {
      const projector = createProjector({
        pool,
        store,
        names,
        checkpoints,
        logger,
        maxBatch: config.RECORDER_PROJECTOR_BATCH,
        flushDelayMs: config.RECORDER_PROJECTOR_FLUSH_MS,
        onBatch: (projection, batch, durationMs) => metrics.projection(projection, batch, durationMs),
        onParked: (projection, events) => metrics.parked(projection, events.length),
        onFatal: (error) => ctx.fail(error),
      });
      // Registered before it starts: a failed start still closes what started.
      ctx.register({ name: 'projector', close: () => projector.close() });
      metrics.watchPositions(() => projector.positions());
      const parked = parkedEventsTable(names);
      metrics.watchParked(() => parked.counts(pool));
      await projector.start();
    }
    if (config.RECORDER_RELAY_ENABLED) {
      const relay = createDefinitionRelay({
        store,
        producer: ctx.producer,
        checkpoints,
        topics: { definitions: config.RECORDER_DEFINITIONS_TOPIC, commands: config.RECORDER_COMMANDS_TOPIC },
        logger,
        observer: metrics.relay,
        onFatal: (error) => ctx.fail(error),
      });
      ctx.register({ name: 'relay', close: () => relay.close() });
      await relay.start();
    }

    const ingest = ctx.consumer({
      name: 'ingest',
      // One group, named by KAFKA_GROUP_ID itself: the offsets of deployments before the runtime stay valid.
      groupId: config.KAFKA_GROUP_ID,
      subscriptions: ingestSubscriptions({
        store,
        topics: recordedTopics(config),
        limits: {
          maxEvents: config.RECORDER_MAX_EVENTS_PER_APPEND,
          maxStreams: config.RECORDER_MAX_STREAMS_PER_APPEND,
        },
        observer: metrics.ingest,
      }),
      partitionsConsumedConcurrently: config.RECORDER_PARTITIONS_CONCURRENTLY,
      maxWaitTimeMs: config.RECORDER_FETCH_MAX_WAIT_MS,
      // Only refusals by the store are non-blocking: they are isolated at once (not retryable).
      retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 5_000 },
    });
    await ingest.start();
  },
});
