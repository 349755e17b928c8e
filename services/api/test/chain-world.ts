import { migrateDomain } from '@openpenpal/domain';
import { courierTimeoutsService } from '@openpenpal/handler-courier-timeouts/service';
import { delayQueueService } from '@openpenpal/delay-queue/service';
import { notifierService } from '@openpenpal/notifier/service';
import { recorderService } from '@openpenpal/recorder/service';
import { tickerService } from '@openpenpal/ticker/service';
import { loadConfig, startService, type RunningService } from '@openpenpal/service-kit';
import { startOtlpReceiver, type OtlpReceiver } from '@openpenpal/telemetry/otlp-receiver';
import { startTelemetry } from '@openpenpal/telemetry/sdk';
import { createKafkaTestContext, createPgTestContext, uniqueName, type StackEnv } from '@openpenpal/test-kit';
import { hashServiceKey, type ApiConfig } from '../src/config.ts';
import { createApiService } from '../src/service.ts';
import { SERVICE_KEY, logger } from './world.ts';

export const HOUR = 3_600_000;

export interface ChainWorld {
  receiver: OtlpReceiver;
  api: RunningService<ApiConfig>;
  topics: Record<
    | 'courier'
    | 'delayRequests'
    | 'delayEvents'
    | 'trigger'
    | 'executions'
    | 'notifyRequests'
    | 'notifyEvents',
    string
  >;
  /** A courier (with its user) holding a task accepted at `acceptedAt`. */
  acceptedTask(tag: string, acceptedAt: number): Promise<{ courierId: string; taskId: string }>;
  close(): Promise<void>;
}

/**
 * Every service of the chain — recorder, ticker, delay queue, the courier-timeouts handler, the
 * notifier and the API — in this process on the service runtime, on topics, groups, a schema and
 * Redis prefixes of their own, with the tracing SDK exporting to a real OTLP/HTTP receiver on
 * loopback (started here, so it runs before any client is built).
 */
export async function startChainWorld(stack: StackEnv): Promise<ChainWorld> {
  const saved = { ...process.env };
  const receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  const telemetry = startTelemetry({ serviceName: 'chain-trace-test' });
  const kafka = await createKafkaTestContext(stack, {});
  const pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  const running: RunningService<never>[] = [];
  const created: string[] = [];
  const topic = (label: string) => {
    const name = uniqueName(`t-chain-${label}`);
    created.push(name);
    return name;
  };
  const triggerPrefix = `${topic('trig')}.`;
  const tickerPrefix = uniqueName('t-chain-tk');
  const topics = {
    courier: topic('courier'),
    delayRequests: topic('delay-req'),
    delayEvents: topic('delay-events'),
    trigger: `${triggerPrefix}courier-timeout-check`,
    executions: topic('exec'),
    results: topic('results'),
    rejections: topic('rejected'),
    notifyRequests: topic('notify-req'),
    notifyEvents: topic('notify-events'),
    notifyDelays: topic('notify-delay'),
    definitions: topic('defs'),
    commands: topic('commands'),
  };
  const common = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    SHUTDOWN_DEADLINE_MS: '10000',
  };
  const start = async (service: Parameters<typeof startService>[0], env: Record<string, string>) => {
    const started = await startService(service, {
      config: loadConfig(service.configSchema, { ...common, ...env }),
      logger,
    });
    running.push(started as unknown as RunningService<never>);
    return started;
  };
  let api: RunningService<ApiConfig>;
  try {
    await start(recorderService, {
      DATABASE_URL: stack.databaseUrl,
      DATABASE_POOL_SIZE: '4',
      EVENT_STORE_PG_SCHEMA: pg.schema,
      RECORDER_DB_SCHEMA: pg.schema,
      KAFKA_GROUP_ID: kafka.groupId('recorder'),
      RECORDER_EXECUTION_EVENTS_TOPIC: topics.executions,
      RECORDER_DELAY_EVENTS_TOPIC: topics.delayEvents,
      RECORDER_NOTIFICATION_EVENTS_TOPIC: topics.notifyEvents,
      RECORDER_DEFINITIONS_TOPIC: topics.definitions,
      RECORDER_COMMANDS_TOPIC: topics.commands,
      RECORDER_FETCH_MAX_WAIT_MS: '100',
    });
    await start(tickerService, {
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: tickerPrefix,
      KAFKA_GROUP_ID: kafka.groupId('ticker'),
      TICKER_DEFINITIONS_TOPIC: topics.definitions,
      TICKER_COMMANDS_TOPIC: topics.commands,
      TICKER_EXECUTION_EVENTS_TOPIC: topics.executions,
      TICKER_TRIGGER_TOPIC_PREFIX: triggerPrefix,
    });
    await start(delayQueueService, {
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: uniqueName('t-chain-dq'),
      KAFKA_GROUP_ID: kafka.groupId('delay-queue'),
      DELAY_QUEUE_REQUESTS_TOPIC: topics.delayRequests,
      DELAY_QUEUE_EVENTS_TOPIC: topics.delayEvents,
      DELAY_QUEUE_EXTRA_TOPICS: topics.trigger,
    });
    await start(courierTimeoutsService, {
      KAFKA_GROUP_ID: kafka.groupId('courier-timeouts'),
      DATABASE_URL: stack.databaseUrl,
      HANDLER_DB_SCHEMA: pg.schema,
      DOMAIN_DB_SCHEMA: pg.schema,
      HANDLER_TRIGGER_TOPIC: topics.trigger,
      HANDLER_EXECUTION_EVENTS_TOPIC: topics.executions,
      HANDLER_DELAY_REQUESTS_TOPIC: topics.delayRequests,
      HANDLER_COURIER_TIMEOUT_CHECK_EVENTS_TOPIC: topics.courier,
      HANDLER_COURIER_TIMEOUT_CHECK_RESULTS_TOPIC: topics.results,
      HANDLER_COURIER_TIMEOUT_CHECK_REJECTIONS_TOPIC: topics.rejections,
      HANDLER_COURIER_TIMEOUT_CHECK_NOTIFICATIONS_TOPIC: topics.notifyRequests,
      HANDLER_COURIER_TIMEOUT_CHECK_TIMEOUT_HOURS: '1',
      OUTBOX_RELAY_POLL_MS: '200',
    });
    await start(notifierService, {
      KAFKA_GROUP_ID: kafka.groupId('notifier'),
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: uniqueName('t-chain-notifier'),
      DOMAIN_DB_SCHEMA: pg.schema,
      NOTIFIER_DB_SCHEMA: pg.schema,
      NOTIFIER_REQUESTS_TOPIC: topics.notifyRequests,
      NOTIFIER_EVENTS_TOPIC: topics.notifyEvents,
      NOTIFIER_DELAY_REQUESTS_TOPIC: topics.notifyDelays,
      NOTIFIER_WEBHOOK_SECRET: 'chain-webhook-secret-0123456789',
    });
    api = (await start(createApiService(), {
      DATABASE_URL: stack.databaseUrl,
      DATABASE_POOL_SIZE: '4',
      EVENT_STORE_PG_SCHEMA: pg.schema,
      API_READ_MODEL_SCHEMA: pg.schema,
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: uniqueName('t-chain-api'),
      API_TICKER_REDIS_PREFIX: tickerPrefix,
      API_DELAY_QUEUE_REDIS_PREFIX: uniqueName('t-chain-dq2'),
      KAFKA_GROUP_ID: kafka.groupId('api'),
      API_JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
      API_SERVICE_KEYS: `courier:${hashServiceKey(SERVICE_KEY)}`,
      API_EVENT_SIGNING_SECRET: 'event-signing-secret-0123456789abcdefghij',
      API_COMMANDS_TOPIC: topics.commands,
      API_DELAY_REQUESTS_TOPIC: topics.delayRequests,
      API_EXECUTION_EVENTS_TOPIC: topics.executions,
      API_DEFINITIONS_TOPIC: topics.definitions,
      API_TRIGGER_TOPIC_PREFIX: triggerPrefix,
      API_FUTURE_LETTERS_TOPIC: topic('letters'),
      API_AI_REPLY_REQUESTS_TOPIC: topic('ai'),
      API_COURIER_TASK_EVENTS_TOPIC: topics.courier,
    })) as unknown as RunningService<ApiConfig>;
  } catch (error) {
    for (const service of running.splice(0).reverse()) await service.close();
    await telemetry.shutdown();
    process.env = saved;
    await receiver.close();
    throw error;
  }
  return {
    receiver,
    api,
    topics,
    acceptedTask: async (tag, acceptedAt) => {
      const courierId = `${tag}-c`;
      const taskId = `${tag}-task`;
      await pg.pool.query(
        `INSERT INTO couriers (id, user_id, name, level, zone_code, managed_op_code_prefix, status, rating, max_daily_tasks)
         VALUES ($1, $2, $1, 1, 'zone-1', 'PK5F3D', 'approved', 4.5, 10)`,
        [courierId, `user-${courierId}`],
      );
      await pg.pool.query(`INSERT INTO users (id, username, email, is_active) VALUES ($1, $1, $2, true)`, [
        `user-${courierId}`,
        `${courierId}@example.test`,
      ]);
      await pg.pool.query(
        `INSERT INTO courier_tasks (id, courier_id, letter_code, status, accepted_at, deadline, timeout_count,
           last_timeout_notice_at, pickup_op_code, delivery_op_code)
         VALUES ($1, $2, $3, 'accepted', $4, $5, 0, NULL, 'PK5F3D01', 'PK5F3D02')`,
        [taskId, courierId, `LC${taskId.slice(-6)}`, new Date(acceptedAt), new Date(acceptedAt + 2 * HOUR)],
      );
      return { courierId, taskId };
    },
    close: async () => {
      for (const service of running.splice(0).reverse()) await service.close();
      await telemetry.shutdown();
      process.env = saved;
      await receiver.close();
      const admin = kafka.kafka.admin();
      await admin.connect();
      const mine = (await admin.listTopics()).filter((name) =>
        created.some((own) => name === own || name.startsWith(`${own}.`)),
      );
      if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
      await admin.disconnect();
      await kafka.close();
      await pg.close();
    },
  };
}
