// pnpm bench:handlers:ai (the AI part of pnpm bench:handlers): 10,000 AI replies due within one
// minute, requested through AiReplyRequested, scheduled through the real delay queue and written by
// the handler with the fake chat API (a real HTTP server on loopback) answering in 200 ms. Target:
// all sent within 2 minutes of the start of that minute, none twice. The delay queue and the handler
// run as processes of their own (as deployed); this process publishes the requests, serves the fake
// provider and reads the results. Writes docs/benchmarks/handlers-ai.json.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContracts, type AiReplyRequested } from '@openpenpal/contracts';
import { migrateDomain } from '@openpenpal/domain';
import { createProducer } from '@openpenpal/messaging';
import {
  collectTopics,
  createKafkaTestContext,
  createPgTestContext,
  findWorkspaceRoot,
  loadStackEnv,
  uniqueName,
  waitFor,
} from '@openpenpal/test-kit';
import { pino } from 'pino';
import { startFakeChatApi } from '../src/fake/fake-chat-api.ts';

const env = process.env;
const REPLIES = Number(env.BENCH_REPLIES ?? 10_000);
const WINDOW_MS = Number(env.BENCH_WINDOW_MS ?? 60_000);
const LEAD_MS = Number(env.BENCH_LEAD_MS ?? 90_000);
const PROVIDER_MS = Number(env.BENCH_PROVIDER_MS ?? 200);
const TARGET_MS = 120_000;
const PERSONAS = [
  'poet',
  'philosopher',
  'artist',
  'scientist',
  'traveler',
  'historian',
  'mentor',
  'friend',
] as const;
const log = (message: string) => process.stderr.write(`[bench:ai-replies] ${message}\n`);
const main = (path: string) => fileURLToPath(new URL(path, import.meta.url));

function stats(values: number[]) {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return {
    count: sorted.length,
    min: Math.round(sorted[0] ?? 0),
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: Math.round(sorted.at(-1) ?? 0),
  };
}

function run(file: string, processEnv: Record<string, string>, name: string) {
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, ...processEnv, HTTP_PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) log(`${name}: ${line.slice(0, 300)}`);
  });
  return { child, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

const stack = loadStackEnv();
if (!stack) throw new Error('no local stack: run `pnpm stack:up` first');
const root = findWorkspaceRoot();
const loadBefore = loadavg();
const started = Date.now();
const contracts = createContracts();
const logger = pino({ level: 'silent' });
const kafka = await createKafkaTestContext(stack, {});
const pg = await createPgTestContext(stack);
await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
const chat = await startFakeChatApi({ delayMs: PROVIDER_MS });
const topics = {
  HANDLER_TRIGGER_TOPIC: uniqueName('b-ai-trigger'),
  HANDLER_EXECUTION_EVENTS_TOPIC: uniqueName('b-ai-exec'),
  HANDLER_DELAY_REQUESTS_TOPIC: uniqueName('b-ai-delay'),
  HANDLER_AI_PENPAL_REPLY_REQUESTS_TOPIC: uniqueName('b-ai-requests'),
  HANDLER_AI_PENPAL_REPLY_DELIVERED_TOPIC: uniqueName('b-ai-delivered'),
  HANDLER_AI_PENPAL_REPLY_REJECTIONS_TOPIC: uniqueName('b-ai-rejected'),
  HANDLER_AI_PENPAL_REPLY_NOTIFICATIONS_TOPIC: uniqueName('b-ai-notify'),
};
const handlerEnv: Record<string, string> = {
  ...topics,
  KAFKA_BROKERS: stack.kafkaBrokers.join(','),
  KAFKA_GROUP_ID: kafka.groupId('ai-replies'),
  DATABASE_URL: stack.databaseUrl,
  HANDLER_DB_SCHEMA: pg.schema,
  DOMAIN_DB_SCHEMA: pg.schema,
  HANDLER_CONCURRENCY: env.BENCH_HANDLER_CONCURRENCY ?? '6',
  HANDLER_AI_PENPAL_REPLY_PROVIDER_BASE_URL: chat.baseUrl,
  HANDLER_AI_PENPAL_REPLY_PROVIDER_MODEL: 'fake-model',
  LOG_LEVEL: 'warn',
};
const delayQueueEnv: Record<string, string> = {
  KAFKA_BROKERS: handlerEnv.KAFKA_BROKERS ?? '',
  KAFKA_GROUP_ID: kafka.groupId('delay-queue'),
  REDIS_URL: stack.redisUrl,
  REDIS_KEY_PREFIX: uniqueName('b-ai-dq'),
  DELAY_QUEUE_REQUESTS_TOPIC: topics.HANDLER_DELAY_REQUESTS_TOPIC,
  DELAY_QUEUE_EVENTS_TOPIC: uniqueName('b-ai-delay-events'),
  DELAY_QUEUE_EXTRA_TOPICS: topics.HANDLER_TRIGGER_TOPIC,
  LOG_LEVEL: 'warn',
};
const admin = kafka.kafka.admin();
await admin.connect();
await admin.createTopics({
  waitForLeaders: true,
  topics: Object.values(topics).flatMap((topic) => [
    { topic, numPartitions: 6 },
    { topic: `${topic}.dlq`, numPartitions: 6 },
  ]),
});
await admin.disconnect();
const processes = [
  run(main('../../delay-queue/src/main.ts'), delayQueueEnv, 'delay-queue'),
  run(main('../src/main.ts'), handlerEnv, 'handler'),
];
const producer = createProducer({ kafka: kafka.kafka, contracts, logger });
const delivered = await collectTopics(kafka.kafka, [topics.HANDLER_AI_PENPAL_REPLY_DELIVERED_TOPIC], (b) =>
  contracts.codec('AiReplyDelivered').decode(b),
);
const notifications = await collectTopics(
  kafka.kafka,
  [topics.HANDLER_AI_PENPAL_REPLY_NOTIFICATIONS_TOPIC],
  (b) => contracts.codec('NotificationRequested').decode(b),
);
const rejections = await collectTopics(kafka.kafka, [topics.HANDLER_AI_PENPAL_REPLY_REJECTIONS_TOPIC], (b) =>
  contracts.codec('InboundEventRejected').decode(b),
);
try {
  // One user (and letter) per reply: the daily quota and the cooldown are per user.
  const users = Array.from(
    { length: REPLIES },
    (_, i) => `bench-ai-${started}-${String(i).padStart(5, '0')}`,
  );
  for (let i = 0; i < users.length; i += 1_000) {
    const slice = users.slice(i, i + 1_000);
    await pg.pool.query(
      `INSERT INTO notification_preferences (user_id, quiet_hours, timezone) SELECT u, NULL, 'Asia/Shanghai' FROM unnest($1::text[]) AS u`,
      [slice],
    );
    await pg.pool.query(
      `INSERT INTO letters (id, user_id, author_id, title, content, status)
       SELECT 'l-' || u, u, u, 'Hello', 'A letter to a pen pal, long enough to be a letter.', 'delivered' FROM unnest($1::text[]) AS u`,
      [slice],
    );
  }
  // Due times spread evenly over one minute that starts LEAD_MS from now (a whole second).
  const windowStart = Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000;
  const requestedAt = Date.now();
  const requests: AiReplyRequested[] = users.map((user, i) => ({
    eventId: randomUUID(),
    letterId: `l-${user}`,
    userId: user,
    persona: PERSONAS[i % PERSONAS.length] ?? 'friend',
    timezone: 'Asia/Shanghai',
    requestedAt,
    delay: {
      'org.openpenpal.platform.AiReplyDelayAbsolute': {
        at: windowStart + Math.floor((i * WINDOW_MS) / REPLIES),
      },
    },
  }));
  log(`${REPLIES} users and letters inserted; publishing the requests`);
  const publishStart = Date.now();
  const binding = {
    topic: topics.HANDLER_AI_PENPAL_REPLY_REQUESTS_TOPIC,
    schema: 'AiReplyRequested' as const,
  };
  for (let i = 0; i < requests.length; i += 500) {
    await producer.send(
      binding,
      requests.slice(i, i + 500).map((value) => ({ key: value.userId, value })),
    );
  }
  log(`published in ${Date.now() - publishStart} ms; the window starts in ${windowStart - Date.now()} ms`);
  const count = async (where: string) =>
    (await pg.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ai_replies WHERE ${where}`)).rows[0]
      ?.n ?? 0;
  await waitFor(async () => (await count('true')) >= REPLIES, {
    what: 'every request recorded',
    timeoutMs: LEAD_MS + WINDOW_MS,
    intervalMs: 1_000,
  });
  const recordedBy = Date.now() - windowStart;
  log(`all recorded ${recordedBy} ms after the window start`);
  if (recordedBy > 0) log('warning: the requests were recorded after the window started');

  await waitFor(async () => (await count(`status = 'sent'`)) >= REPLIES, {
    what: 'every reply sent',
    timeoutMs: Math.max(0, windowStart - Date.now()) + WINDOW_MS + 300_000,
    intervalMs: 1_000,
  });
  await waitFor(() => new Set(notifications.messages.map((m) => m.value?.notification_id)).size >= REPLIES, {
    what: 'every notification on Kafka',
    timeoutMs: 120_000,
    intervalMs: 500,
  });
  // Let late copies (if any) arrive before counting.
  await new Promise((resolve) => setTimeout(resolve, 5_000));

  const { rows } = await pg.pool.query<{ late: number; after_window: number; fallback: boolean }>(
    `SELECT (extract(epoch FROM sent_at - scheduled_at) * 1000)::float8 AS late,
            (extract(epoch FROM sent_at) * 1000 - $1)::float8 AS after_window, fallback
     FROM ai_replies WHERE status = 'sent'`,
    [windowStart],
  );
  const letters = (
    await pg.pool.query<{ n: number; distinct_replies: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT reply_to)::int AS distinct_replies FROM letters WHERE type = 'reply'`,
    )
  ).rows[0];
  const sentAfterWindowStart = stats(rows.map((r) => r.after_window));
  const lateness = stats(rows.map((r) => r.late));
  const uniqueDelivered = new Set(delivered.messages.map((m) => m.value?.aiReplyId)).size;
  const uniqueNotifications = new Set(notifications.messages.map((m) => m.value?.notification_id)).size;
  const fallbacks = rows.filter((r) => r.fallback).length;
  const report = {
    benchmark: 'handlers: AI replies due within one minute',
    date: new Date().toISOString(),
    command: 'pnpm bench:handlers:ai (node services/handler-ai-replies/bench/ai-replies.bench.ts)',
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine: {
      os: `${osType()} ${release()}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverageBefore: loadBefore.map((v) => Math.round(v * 100) / 100),
      loadAverageAfter: loadavg().map((v) => Math.round(v * 100) / 100),
    },
    versions: {
      kafkajs: '2.2.4',
      kafkaBroker: '4.4.0 (deploy/local)',
      postgres: (await pg.pool.query<{ v: string }>('SHOW server_version')).rows[0]?.v,
      cockatiel: '4.0.0',
      luxon: '3.7.2',
    },
    setup:
      'the delay queue and handler-ai-penpal-reply each in a process of its own (as deployed); this process ' +
      `publishes the requests, serves the fake chat API on loopback (every answer after ${PROVIDER_MS} ms) and ` +
      'reads the results; the local stack (1 broker, 6-partition topics), ' +
      `HANDLER_CONCURRENCY=${handlerEnv.HANDLER_CONCURRENCY}, HANDLER_AI_PENPAL_REPLY_GENERATION_CONCURRENCY=32 (default), ` +
      'one exact-time trigger per reply, one user per reply',
    params: { replies: REPLIES, windowMs: WINDOW_MS, leadMs: LEAD_MS, providerMs: PROVIDER_MS },
    requestsRecordedAfterWindowStartMs: recordedBy,
    sentAfterWindowStartMs: sentAfterWindowStart,
    sentAfterDueMs: lateness,
    providerCalls: chat.calls,
    fallbackReplies: fallbacks,
    rejections: rejections.messages.length,
    replyLetters: letters,
    deliveredEvents: { messages: delivered.messages.length, unique: uniqueDelivered },
    notifications: { messages: notifications.messages.length, unique: uniqueNotifications },
    targets: {
      'all sent within 2 minutes': {
        target: `every reply sent at most ${TARGET_MS} ms after the start of the minute they are due in`,
        measured: `${rows.length} sent, the last ${sentAfterWindowStart.max} ms after the window start`,
        met: rows.length === REPLIES && sentAfterWindowStart.max <= TARGET_MS,
      },
      'none twice': {
        target: `${REPLIES} reply letters, ${REPLIES} AiReplyDelivered and ${REPLIES} notifications, all distinct`,
        measured:
          `${letters?.n} letters (${letters?.distinct_replies} originals), ${delivered.messages.length} events ` +
          `(${uniqueDelivered} distinct), ${notifications.messages.length} notifications (${uniqueNotifications} distinct)`,
        met:
          letters?.n === REPLIES &&
          letters.distinct_replies === REPLIES &&
          uniqueDelivered === REPLIES &&
          delivered.messages.length === REPLIES &&
          uniqueNotifications === REPLIES &&
          notifications.messages.length === REPLIES,
      },
    },
  };
  const out = env.BENCH_OUT ?? join(root, 'docs/benchmarks/handlers-ai.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${out}`);
  process.stdout.write(`${JSON.stringify(report.targets, null, 2)}\n`);
} finally {
  for (const { child } of processes) child.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.exited));
  await Promise.all([delivered.close(), notifications.close(), rejections.close()]);
  await producer.close();
  await chat.close();
  await kafka.close();
  await pg.close();
}
