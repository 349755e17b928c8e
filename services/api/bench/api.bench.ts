// pnpm bench:api — requests per second and latency of the admin API on loopback (autocannon), with the
// API as its own process (node services/api/src/main.ts, on the service runtime) so the load generator
// does not share its event loop.
//   list:   GET /api/v1/scheduler/tasks (default page of 20, newest first) over BENCH_TASKS tasks in the
//           read models (defined through the task-definitions commands, projected by the recorder);
//   create: POST /api/v1/scheduler/tasks, a new task per request (event store append + read back).
// Writes docs/benchmarks/api.json. Options (env): BENCH_TASKS (10000), BENCH_SECONDS (10),
// BENCH_CONNECTIONS (10).
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createPostgresEventStore } from '@openpenpal/event-store';
import { recorderService } from '@openpenpal/recorder/service';
import { keySpace } from '@openpenpal/redis';
import { loadConfig, startService } from '@openpenpal/service-kit';
import { createTaskDefinitions } from '@openpenpal/task-definitions';
import { findWorkspaceRoot, loadStackEnv, testKafkaClient, uniqueName } from '@openpenpal/test-kit';
import { sleep } from '@openpenpal/timing';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';

const TASKS = Number(process.env.BENCH_TASKS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SECRET = randomUUID() + randomUUID();

const loadBefore = loadavg()[0];
const stack = loadStackEnv();
if (!stack) throw new Error('no stack: run `pnpm stack:up` first');
const root = findWorkspaceRoot();
const logger = pino({ level: 'warn' });
const schema = uniqueName('bench_api').replaceAll('-', '_');
const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 4 });
const kafka = testKafkaClient(stack, 'bench-api');
const labels = [
  'executions',
  'delays',
  'notifications',
  'definitions',
  'commands',
  'requests',
  'letters',
  'ai',
  'courier',
];
const topics = Object.fromEntries(labels.map((label) => [label, uniqueName(`bench-api-${label}`)]));
const topic = (label: string) => topics[label] ?? '';
const redisPrefix = uniqueName('bench-api');

function token(role: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: 'bench', role, iat: now, exp: now + 3600 })}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function summary(result: autocannon.Result) {
  return {
    requests: result.requests.total,
    requestsPerSec: Math.round(result.requests.average),
    latencyMs: {
      mean: result.latency.mean,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}

const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  waitForLeaders: true,
  topics: labels.map((label) => ({
    topic: topic(label),
    numPartitions: 1,
    configEntries: label === 'definitions' ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
  })),
});
await pool.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
let api: ReturnType<typeof spawn> | undefined;
const store = createPostgresEventStore({ pool, schema });
const recorderEnv = {
  LOG_LEVEL: 'warn',
  HTTP_PORT: '0',
  KAFKA_BROKERS: stack.kafkaBrokers.join(','),
  KAFKA_PROVISION_TOPICS: 'false',
  KAFKA_GROUP_ID: uniqueName('bench-api-recorder'),
  DATABASE_URL: stack.databaseUrl,
  EVENT_STORE_PG_SCHEMA: schema,
  RECORDER_DB_SCHEMA: schema,
  RECORDER_EXECUTION_EVENTS_TOPIC: topic('executions'),
  RECORDER_DELAY_EVENTS_TOPIC: topic('delays'),
  RECORDER_NOTIFICATION_EVENTS_TOPIC: topic('notifications'),
  RECORDER_DEFINITIONS_TOPIC: topic('definitions'),
  RECORDER_COMMANDS_TOPIC: topic('commands'),
  RECORDER_RELAY_ENABLED: 'false',
};
const recorder = await startService(recorderService, {
  config: loadConfig(recorderService.configSchema, recorderEnv),
  logger,
});
try {
  // 10,000 tasks through the same commands the API runs, projected by the recorder into the read models.
  await store.migrate();
  const definitions = createTaskDefinitions({ store, clock: { now: () => Date.now() } });
  const types = ['letter_cleanup', 'future_letter_unlock', 'ai_penpal_reply', 'daily_report'] as const;
  const seedStarted = performance.now();
  for (let i = 0; i < TASKS; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, TASKS - i) }, (_, j) =>
        definitions.createTask(
          {
            task_id: `bench-${i + j}`,
            name: `bench task ${i + j}`,
            task_type: types[(i + j) % types.length],
            cron_expression: `${(i + j) % 60} ${(i + j) % 24} * * *`,
            timezone: 'Asia/Shanghai',
            priority: (['low', 'normal', 'high', 'critical'] as const)[(i + j) % 4],
          },
          { actor: 'bench' },
        ),
      ),
    );
  }
  const seedMs = Math.round(performance.now() - seedStarted);
  for (;;) {
    const { rows } = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${pg.escapeIdentifier(schema)}.tasks`,
    );
    if (Number(rows[0]?.n ?? 0) >= TASKS) break;
    await sleep(200);
  }

  const port = await freePort();
  api = spawn(process.execPath, [fileURLToPath(new URL('../src/main.ts', import.meta.url))], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      HTTP_PORT: String(port),
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      DATABASE_URL: stack.databaseUrl,
      DATABASE_POOL_SIZE: '10',
      EVENT_STORE_PG_SCHEMA: schema,
      API_READ_MODEL_SCHEMA: schema,
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: redisPrefix,
      API_TICKER_REDIS_PREFIX: `${redisPrefix}-ticker`,
      API_DELAY_QUEUE_REDIS_PREFIX: `${redisPrefix}-dq`,
      API_JWT_SECRET: SECRET,
      API_RATE_LIMIT_MAX: '100000000',
      API_COMMANDS_TOPIC: topic('commands'),
      API_DELAY_REQUESTS_TOPIC: topic('requests'),
      API_EXECUTION_EVENTS_TOPIC: topic('executions'),
      API_DEFINITIONS_TOPIC: topic('definitions'),
      API_FUTURE_LETTERS_TOPIC: topic('letters'),
      API_AI_REPLY_REQUESTS_TOPIC: topic('ai'),
      API_COURIER_TASK_EVENTS_TOPIC: topic('courier'),
      OTEL_SDK_DISABLED: 'true',
    },
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ready = await fetch(`${base}/readyz`).catch(() => undefined);
    if (ready?.status === 200) break;
    if (i > 300) throw new Error('the API did not become ready');
    await sleep(100);
  }
  const headers = { authorization: `Bearer ${token('platform_admin')}`, 'content-type': 'application/json' };
  const check = await fetch(`${base}/api/v1/scheduler/tasks`, { headers });
  const checked = (await check.json()) as { total: number; tasks: unknown[] };
  if (checked.total !== TASKS || checked.tasks.length !== 20)
    throw new Error(`unexpected list: ${checked.total}`);

  const list = await autocannon({
    url: `${base}/api/v1/scheduler/tasks`,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers,
  });
  let created = 0;
  const create = await autocannon({
    url: `${base}/api/v1/scheduler/tasks`,
    connections: CONNECTIONS,
    duration: SECONDS,
    method: 'POST',
    headers,
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({
            task_id: `bench-new-${created++}-${randomUUID()}`,
            name: 'bench create',
            task_type: 'letter_cleanup',
            cron_expression: '0 3 * * *',
            timezone: 'Asia/Shanghai',
            payload: { days_old: 7 },
          }),
        }),
      },
    ],
  });
  const loadAfter = loadavg()[0];
  const pkg = (name: string) =>
    (
      JSON.parse(readFileSync(`${root}/node_modules/.pnpm/node_modules/${name}/package.json`, 'utf8')) as {
        version: string;
      }
    ).version;
  const postgres = (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]
    ?.v;
  const result = {
    benchmark: 'api',
    date: new Date().toISOString(),
    command: 'pnpm bench:api',
    machine: {
      os: `${osType()} ${release()}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim(),
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAverage1mBefore: Number(loadBefore?.toFixed(2)),
      loadAverage1mAfter: Number(loadAfter?.toFixed(2)),
      node: process.version,
      note: 'load generator, API process, PostgreSQL, Redis and Kafka share the machine (and its 2 cores with other work)',
    },
    versions: { fastify: pkg('fastify'), autocannon: pkg('autocannon'), pg: pkg('pg'), postgres },
    params: { tasks: TASKS, seconds: SECONDS, connections: CONNECTIONS, eventStore: 'postgres', seedMs },
    list: { route: 'GET /api/v1/scheduler/tasks (page_size 20, sort created_at desc)', ...summary(list) },
    create: { route: 'POST /api/v1/scheduler/tasks (a new task per request)', ...summary(create) },
  };
  writeFileSync(`${root}/docs/benchmarks/api.json`, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `${JSON.stringify({ list: result.list, create: result.create, machine: result.machine }, null, 2)}\n`,
  );
} finally {
  api?.kill('SIGTERM');
  await new Promise((resolve) => (api ? api.once('exit', resolve) : resolve(undefined)));
  await recorder.close();
  await store.close();
  await pool.query(`DROP SCHEMA ${pg.escapeIdentifier(schema)} CASCADE`);
  await pool.end();
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin.disconnect();
  const redis = new Redis(stack.redisUrl);
  for (const prefix of [redisPrefix, `${redisPrefix}-ticker`, `${redisPrefix}-dq`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', keySpace(prefix).pattern, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  redis.disconnect();
}
