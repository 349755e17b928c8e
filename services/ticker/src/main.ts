// The ticker's composition root: telemetry, config, clients, topics, components, shutdown.
import { startTelemetry } from '@openpenpal/telemetry/sdk';
import { TASK_TYPES, createContracts, topicSpec } from '@openpenpal/contracts';
import { createKafkaClient, createProducer, provisionTopics } from '@openpenpal/messaging';
import { createLogger, defaultInstanceId, runService, startOpsServer } from '@openpenpal/service-kit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { loadTickerConfig } from './config.ts';
import { triggerTopicFor } from './task-spec.ts';
import { createTicker } from './ticker.ts';

const telemetry = startTelemetry({ serviceName: 'ticker' });
const config = loadTickerConfig();
const instanceId = config.INSTANCE_ID ?? defaultInstanceId();
const logger = createLogger({ service: 'ticker', level: config.LOG_LEVEL, instanceId });

await runService({
  name: 'ticker',
  logger,
  shutdownDeadlineMs: config.SHUTDOWN_DEADLINE_MS,
  start: async (register) => {
    register({ name: 'telemetry', close: () => telemetry.shutdown() });
    const contracts = createContracts();
    const kafka = createKafkaClient({
      brokers: config.KAFKA_BROKERS,
      clientId: config.KAFKA_CLIENT_ID,
      logger,
    });
    const admin = kafka.admin();
    await admin.connect();
    register({ name: 'kafka-admin', close: () => admin.disconnect() });

    const topics = [
      { spec: topicSpec('scheduler.task-definitions'), name: config.TICKER_DEFINITIONS_TOPIC },
      { spec: topicSpec('scheduler.task-commands'), name: config.TICKER_COMMANDS_TOPIC },
      { spec: topicSpec('scheduler.execution-events'), name: config.TICKER_EXECUTION_EVENTS_TOPIC },
      ...TASK_TYPES.map((taskType) => ({
        spec: topicSpec(`scheduler.trigger.${taskType.replaceAll('_', '-')}`),
        name: triggerTopicFor(config.TICKER_TRIGGER_TOPIC_PREFIX, taskType),
      })),
    ];
    if (config.TICKER_PROVISION_TOPICS) {
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

    const redis = new Redis(config.REDIS_URL, {
      lazyConnect: true,
      commandTimeout: config.TICKER_REDIS_COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 1,
    });
    await redis.connect();
    register({
      name: 'redis',
      close: async () => {
        await redis.quit();
      },
    });

    const producer = createProducer({ kafka, contracts, logger });
    await producer.connect();
    register({ name: 'producer', close: () => producer.close() });

    const registry = new Registry();
    const ticker = createTicker({
      kafka,
      admin,
      redis,
      contracts,
      producer,
      logger,
      registry,
      settings: {
        instanceId,
        definitionsTopic: config.TICKER_DEFINITIONS_TOPIC,
        commandsTopic: config.TICKER_COMMANDS_TOPIC,
        executionEventsTopic: config.TICKER_EXECUTION_EVENTS_TOPIC,
        triggerTopicPrefix: config.TICKER_TRIGGER_TOPIC_PREFIX,
        redisPrefix: config.TICKER_REDIS_PREFIX,
        groupPrefix: config.TICKER_GROUP_PREFIX,
        leaseTtlMs: config.TICKER_LEASE_TTL_MS,
        leaseRenewMs: config.TICKER_LEASE_RENEW_MS,
        leaseSafetyMarginMs: config.TICKER_LEASE_SAFETY_MARGIN_MS,
        forbidSlackMs: config.TICKER_FORBID_SLACK_MS,
        retryBackoffMs: config.TICKER_RETRY_BACKOFF_MS,
        maxSendBatch: config.TICKER_MAX_SEND_BATCH,
        reconcileLookbackMs: config.TICKER_RECONCILE_LOOKBACK_MS,
        prepareAheadMs: config.TICKER_PREPARE_AHEAD_MS,
      },
    });
    // Registered before it starts: a shutdown while the table loads still closes what started.
    register({ name: 'ticker', close: () => ticker.close() });

    const ops = await startOpsServer({
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      registry,
      checks: ticker.readinessChecks(),
      logger,
      extend: (app) => {
        // /readyz also says which role this replica plays; both roles are ready.
        app.addHook('preSerialization', async (request, _reply, payload) =>
          request.url === '/readyz' && typeof payload === 'object' && payload !== null
            ? { ...payload, role: ticker.role(), paused: ticker.isPaused() ?? null }
            : payload,
        );
      },
    });
    register({ name: 'ops-server', close: () => ops.close() });
    logger.info({ url: ops.url() }, 'ops server listening');

    await ticker.start();
  },
});
