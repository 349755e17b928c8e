// The recorder's composition root: telemetry, config, clients, topics, components, shutdown.
import { startTelemetry } from '@openpenpal/telemetry/sdk';
import { createContracts, topicSpec } from '@openpenpal/contracts';
import { createKafkaClient, createProducer, provisionTopics } from '@openpenpal/messaging';
import { createLogger, defaultInstanceId, runService, startOpsServer } from '@openpenpal/service-kit';
import pg from 'pg';
import { Registry } from 'prom-client';
import { loadRecorderConfig } from './config.ts';
import { openEventStore } from './event-store.ts';
import { createRecorder } from './recorder.ts';

const telemetry = startTelemetry({ serviceName: 'recorder' });
const config = loadRecorderConfig();
const instanceId = config.INSTANCE_ID ?? defaultInstanceId();
const logger = createLogger({ service: 'recorder', level: config.LOG_LEVEL, instanceId });

await runService({
  name: 'recorder',
  logger,
  shutdownDeadlineMs: config.SHUTDOWN_DEADLINE_MS,
  start: async (register) => {
    register({ name: 'telemetry', close: () => telemetry.shutdown() });
    const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE });
    pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
    register({ name: 'postgres', close: () => pool.end() });
    const eventStore = await openEventStore(config, pool, logger);
    register({ name: 'event-store', close: () => eventStore.close() });

    const contracts = createContracts();
    const kafka = createKafkaClient({
      brokers: config.KAFKA_BROKERS,
      clientId: config.KAFKA_CLIENT_ID,
      logger,
    });
    const admin = kafka.admin();
    await admin.connect();
    register({ name: 'kafka-admin', close: () => admin.disconnect() });
    if (config.RECORDER_PROVISION_TOPICS) {
      const topics = [
        { spec: topicSpec('scheduler.execution-events'), name: config.RECORDER_EXECUTION_EVENTS_TOPIC },
        { spec: topicSpec('scheduler.delay-events'), name: config.RECORDER_DELAY_EVENTS_TOPIC },
        {
          spec: topicSpec('scheduler.notifications.events'),
          name: config.RECORDER_NOTIFICATION_EVENTS_TOPIC,
        },
        { spec: topicSpec('scheduler.task-definitions'), name: config.RECORDER_DEFINITIONS_TOPIC },
        { spec: topicSpec('scheduler.task-commands'), name: config.RECORDER_COMMANDS_TOPIC },
      ];
      await provisionTopics({
        kafka,
        logger,
        topics: topics.map(({ spec, name }) => ({
          name,
          partitions: spec.partitions,
          retentionMs: spec.retentionMs,
          cleanupPolicy: spec.cleanupPolicy,
        })),
      });
    }
    const producer = createProducer({ kafka, contracts, logger });
    await producer.connect();
    register({ name: 'producer', close: () => producer.close() });

    const registry = new Registry();
    const recorder = createRecorder({
      config,
      pool,
      store: eventStore.store,
      kafka,
      admin,
      producer,
      contracts,
      registry,
      logger,
    });
    // Registered before it starts: a shutdown while it starts still closes what started.
    register({ name: 'recorder', close: () => recorder.close() });

    const ops = await startOpsServer({
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      registry,
      checks: recorder.readinessChecks(),
      logger,
    });
    register({ name: 'ops-server', close: () => ops.close() });
    logger.info({ url: ops.url() }, 'ops server listening');

    await recorder.start();
  },
});
