import { migrateDomain } from '@openpenpal/domain';
import { courierTimeoutsService } from '@openpenpal/handler-courier-timeouts/service';
import { delayQueueService } from '@openpenpal/delay-queue/service';
import { notifierService } from '@openpenpal/notifier/service';
import { recorderService } from '@openpenpal/recorder/service';
import { loadConfig, startService, type RunningService } from '@openpenpal/service-kit';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@openpenpal/telemetry/otlp-receiver';
import { startTelemetry, type Telemetry } from '@openpenpal/telemetry/sdk';
import {
  createKafkaTestContext,
  createPgTestContext,
  uniqueName,
  waitFor,
  type KafkaTestContext,
  type PgTestContext,
} from '@openpenpal/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashServiceKey, type ApiConfig } from '../src/config.ts';
import { createApiService } from '../src/service.ts';
import { SERVICE_KEY, logger } from './world.ts';

const stack = inject('stack');
const HOUR = 3_600_000;

// Every service of the chain runs in this process on the service runtime, on topics, groups, a
// schema and Redis prefixes of this test; the SDK exports to a real OTLP/HTTP receiver on loopback.
let receiver: OtlpReceiver;
let telemetry: Telemetry;
let kafka: KafkaTestContext;
let pg: PgTestContext;
const running: RunningService<never>[] = [];
const saved = { ...process.env };
const topic = (label: string) => uniqueName(`t-chain-${label}`);
const topics = {
  courier: topic('courier'),
  delayRequests: topic('delay-req'),
  delayEvents: topic('delay-events'),
  trigger: topic('trigger'),
  executions: topic('exec'),
  results: topic('results'),
  rejections: topic('rejected'),
  notifyRequests: topic('notify-req'),
  notifyEvents: topic('notify-events'),
  notifyDelays: topic('notify-delay'),
  definitions: topic('defs'),
  commands: topic('commands'),
};
let api: RunningService<ApiConfig>;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  telemetry = startTelemetry({ serviceName: 'chain-trace-test' });
  kafka = await createKafkaTestContext(stack, {});
  pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
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
    API_TICKER_REDIS_PREFIX: uniqueName('t-chain-tk'),
    API_DELAY_QUEUE_REDIS_PREFIX: uniqueName('t-chain-dq2'),
    KAFKA_GROUP_ID: kafka.groupId('api'),
    API_JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
    API_SERVICE_KEYS: `courier:${hashServiceKey(SERVICE_KEY)}`,
    API_EVENT_SIGNING_SECRET: 'event-signing-secret-0123456789abcdefghij',
    API_COMMANDS_TOPIC: topics.commands,
    API_DELAY_REQUESTS_TOPIC: topics.delayRequests,
    API_EXECUTION_EVENTS_TOPIC: topics.executions,
    API_DEFINITIONS_TOPIC: topics.definitions,
    API_TRIGGER_TOPIC_PREFIX: `${uniqueName('t-chain-trig')}.`,
    API_FUTURE_LETTERS_TOPIC: topic('letters'),
    API_AI_REPLY_REQUESTS_TOPIC: topic('ai'),
    API_COURIER_TASK_EVENTS_TOPIC: topics.courier,
  })) as unknown as RunningService<ApiConfig>;
}, 180_000);

afterAll(async () => {
  for (const service of running.splice(0).reverse()) await service.close();
  await telemetry.shutdown();
  process.env = saved;
  await receiver.close();
  const admin = kafka.kafka.admin();
  await admin.connect();
  const mine = (await admin.listTopics()).filter((name) => name.startsWith('t-chain-'));
  if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
  await admin.disconnect();
  await kafka.close();
  await pg.close();
});

describe('one trace', () => {
  it('covers API → courier event → handler → delay queue (across the wait) → handler → notifier → recorder', async () => {
    const tag = uniqueName('chain');
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
    // Accepted an hour ago but for 3 s: the timeout check falls due 3 s from now.
    const acceptedAt = Date.now() - HOUR + 3_000;
    await pg.pool.query(
      `INSERT INTO courier_tasks (id, courier_id, letter_code, status, accepted_at, deadline, timeout_count,
         last_timeout_notice_at, pickup_op_code, delivery_op_code)
       VALUES ($1, $2, $3, 'accepted', $4, $5, 0, NULL, 'PK5F3D01', 'PK5F3D02')`,
      [taskId, courierId, `LC${taskId.slice(-6)}`, new Date(acceptedAt), new Date(acceptedAt + 2 * HOUR)],
    );

    const response = await api.ops.app.inject({
      method: 'POST',
      url: `/api/v1/scheduler/inbound/courier-tasks/${taskId}/accepted`,
      headers: { 'x-api-key': SERVICE_KEY },
      payload: { courier_id: courierId, accepted_at: acceptedAt },
    });
    expect(response.statusCode).toBe(202);
    const spans = () => receiver.spans();
    const server = await (async () => {
      await waitFor(
        () => spans().some((s) => s.attributes['url.path']?.toString().includes(taskId) ?? false),
        {
          what: 'the API request span',
          timeoutMs: 10_000,
        },
      );
      return spans().find((s) => s.attributes['url.path']?.toString().includes(taskId)) as ReceivedSpan;
    })();
    const inTrace = () => spans().filter((s) => s.traceId === server.traceId);
    const named = (name: string) => inTrace().filter((s) => s.name === name);
    // Parents end after their children, so they may come in a later export: wait for the recorder's
    // append of the notification event and for every parent to be there.
    const complete = () => {
      const ids = new Set(inTrace().map((span) => span.spanId));
      const notified = named(`${topics.notifyEvents} process`)[0];
      return (
        notified !== undefined &&
        inTrace().some(
          (span) => span.name === 'event_store append' && span.parentSpanId === notified.spanId,
        ) &&
        inTrace().every((span) => span.spanId === server.spanId || ids.has(span.parentSpanId ?? ''))
      );
    };
    await waitFor(complete, {
      what: 'the whole trace, down to the recorder storing the notification event',
      timeoutMs: 60_000,
      describe: () => inTrace().map((span) => span.name),
    });
    const byId = new Map(inTrace().map((span) => [span.spanId, span]));
    const parentOf = (span: ReceivedSpan | undefined) => byId.get(span?.parentSpanId ?? '');
    expect(server.parentSpanId).toBeUndefined();
    expect(server.name).toBe('POST /api/v1/scheduler/inbound/courier-tasks/:taskId/accepted');
    // The first hop: the API's produce span is the request span's child.
    expect(named(`${topics.courier} publish`).map((span) => span.parentSpanId)).toEqual([server.spanId]);
    // Every hop with a producer span: each consumer span is the child of a producer span of its
    // topic — the courier event, the delay requests, the due trigger (published by the delay
    // queue), the delay queue's and the handler's events.
    for (const hop of [
      topics.courier,
      topics.delayRequests,
      topics.trigger,
      topics.delayEvents,
      topics.executions,
    ]) {
      const processes = named(`${hop} process`);
      expect(processes.length, `${hop} process`).toBeGreaterThan(0);
      for (const consumer of processes)
        expect(parentOf(consumer)?.name, `${hop} process parent`).toBe(`${hop} publish`);
    }
    // The delay: the trigger's publish, made by the delay queue after the wait, is the child of the
    // handler's consume span that scheduled it; its Dispatched event is the child of that publish.
    const [dispatch] = named(`${topics.trigger} publish`);
    expect(parentOf(dispatch)?.name).toBe(`${topics.courier} process`);
    expect(
      inTrace().some(
        (span) => span.name === `${topics.delayEvents} publish` && span.parentSpanId === dispatch?.spanId,
      ),
    ).toBe(true);
    // The outbox hops carry the context of the span that wrote the row: the handler's trigger
    // processing wrote the notification request, the notifier's processing wrote its event.
    const [notify] = named(`${topics.notifyRequests} process`);
    expect(parentOf(notify)?.name).toBe(`${topics.trigger} process`);
    const [notified] = named(`${topics.notifyEvents} process`);
    expect(parentOf(notified)?.name).toBe(`${topics.notifyRequests} process`);
    // The recorder stores the notification event inside that trace.
    expect(
      inTrace().some((span) => span.name === 'event_store append' && span.parentSpanId === notified?.spanId),
    ).toBe(true);
    // One connected tree from the API call: no span of the trace hangs off a span outside it.
    for (const span of inTrace()) {
      if (span.spanId !== server.spanId) expect(byId.has(span.parentSpanId ?? ''), span.name).toBe(true);
    }
  });
});
