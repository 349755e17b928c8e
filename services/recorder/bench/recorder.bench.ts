// pnpm bench:recorder — how fast the recorder records execution events with the PostgreSQL event store,
// end to end through Kafka, in the real service process (node services/recorder/src/main.ts, on the
// service runtime: its ingest is a batch subscription of the messaging layer).
//   drain: N events already in the topic; the recorder starts and records them all (capacity).
//   paced: with the recorder running, events are produced at BENCH_RATE per second; does it keep up?
// Writes docs/benchmarks/recorder.json. Options (env): BENCH_EVENTS (100000), BENCH_EXECUTIONS (10000),
// BENCH_PARTITIONS (6), BENCH_RATE (5000), BENCH_PACED_SECONDS (15), and any RECORDER_* variable.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createContracts, type ExecutionEvent } from '@openpenpal/contracts';
import { createProducer } from '@openpenpal/messaging';
import { findWorkspaceRoot, loadStackEnv, testKafkaClient, uniqueName } from '@openpenpal/test-kit';
import { sleep } from '@openpenpal/timing';
import pg from 'pg';
import { pino } from 'pino';
import { workload } from './workload.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const EXECUTIONS = Number(process.env.BENCH_EXECUTIONS ?? 10_000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 15);
const TARGET = 5_000;

// Other work on the machine shares its CPUs with Kafka, PostgreSQL and the recorder: recorded with the result.
const loadBefore = loadavg()[0];
const stack = loadStackEnv();
if (!stack) throw new Error('no stack: run `pnpm stack:up` first');
const root = findWorkspaceRoot();
const logger = pino({ level: 'warn' });
const contracts = createContracts();
const kafka = testKafkaClient(stack, 'bench-recorder');
const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
const schema = uniqueName('bench').replace('-', '_');
const topics = Object.fromEntries(
  ['executions', 'delays', 'notifications', 'definitions', 'commands'].map((label) => [
    label,
    uniqueName(`bench-${label}`),
  ]),
) as Record<'executions' | 'delays' | 'notifications' | 'definitions' | 'commands', string>;

const producer = createProducer({ kafka, contracts, logger });
async function produce(events: readonly ExecutionEvent[]): Promise<void> {
  for (let index = 0; index < events.length; index += 2_000) {
    await producer.send(
      { topic: topics.executions, schema: 'ExecutionEvent' },
      events
        .slice(index, index + 2_000)
        .map((value) => ({ key: value.execution_id, value, messageId: value.event_id })),
    );
  }
}

const count = async (): Promise<number> =>
  Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".events`)).rows[0]?.n ?? 0);
async function waitForCount(target: number, onPoll?: (n: number) => void): Promise<number> {
  for (;;) {
    const n = await count().catch(() => 0);
    onPoll?.(n);
    if (n >= target) return performance.now();
    await sleep(100);
  }
}
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}
/** Sum and count of a histogram on the recorder's /metrics page. */
async function histogram(name: string): Promise<{ sum: number; count: number }> {
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const read = (suffix: string) =>
    Number(new RegExp(`^${name}_${suffix}(?:\\{[^}]*\\})? ([0-9.e+-]+)`, 'm').exec(metrics)?.[1] ?? 0);
  return { sum: read('sum'), count: read('count') };
}
async function appendStats(): Promise<{
  seconds: { sum: number; count: number };
  events: { sum: number; count: number };
}> {
  return {
    seconds: await histogram('scheduler_recorder_append_duration_seconds'),
    events: await histogram('scheduler_recorder_append_batch_events'),
  };
}
function appendSummary(
  after: Awaited<ReturnType<typeof appendStats>>,
  before?: Awaited<ReturnType<typeof appendStats>>,
) {
  const delta = (key: 'seconds' | 'events', field: 'sum' | 'count') =>
    after[key][field] - (before?.[key][field] ?? 0);
  const appends = delta('seconds', 'count');
  return {
    appends,
    meanAppendMs: appends > 0 ? Math.round((delta('seconds', 'sum') / appends) * 10_000) / 10 : null,
    meanEventsPerAppend: appends > 0 ? Math.round(delta('events', 'sum') / appends) : null,
  };
}

const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  topics: [
    { topic: topics.executions, numPartitions: PARTITIONS },
    { topic: `${topics.executions}.dlq`, numPartitions: 1 },
    ...(['delays', 'notifications', 'definitions', 'commands'] as const).map((label) => ({
      topic: topics[label],
      numPartitions: 1,
    })),
  ],
  waitForLeaders: true,
});
await pool.query(`CREATE SCHEMA "${schema}"`);
const port = await freePort();
const env = {
  ...process.env,
  LOG_LEVEL: 'warn',
  HTTP_PORT: String(port),
  KAFKA_BROKERS: stack.kafkaBrokers.join(','),
  DATABASE_URL: stack.databaseUrl,
  EVENT_STORE_PG_SCHEMA: schema,
  RECORDER_DB_SCHEMA: schema,
  KAFKA_GROUP_ID: uniqueName('bench-recorder'),
  RECORDER_EXECUTION_EVENTS_TOPIC: topics.executions,
  RECORDER_DELAY_EVENTS_TOPIC: topics.delays,
  RECORDER_NOTIFICATION_EVENTS_TOPIC: topics.notifications,
  RECORDER_DEFINITIONS_TOPIC: topics.definitions,
  RECORDER_COMMANDS_TOPIC: topics.commands,
  KAFKA_PROVISION_TOPICS: 'false',
};

let recorder: ReturnType<typeof spawn> | undefined;
try {
  const perExecution = Math.ceil(EVENTS / EXECUTIONS);
  const drainEvents = workload(EXECUTIONS, perExecution, Date.parse('2026-12-01T00:00:00Z')).slice(0, EVENTS);
  const produceStart = performance.now();
  await produce(drainEvents);
  const produceMs = performance.now() - produceStart;
  console.log(`produced ${drainEvents.length} events in ${Math.round(produceMs)} ms`);

  const spawnedAt = performance.now();
  recorder = spawn(process.execPath, [fileURLToPath(new URL('../src/main.ts', import.meta.url))], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let firstSeenAt = 0;
  const drainDoneAt = await waitForCount(drainEvents.length, (n) => {
    if (n > 0 && firstSeenAt === 0) firstSeenAt = performance.now();
  });
  const stored = (
    await pool.query<{ first: Date; last: Date }>(
      `SELECT min(created_at) AS first, max(created_at) AS last FROM "${schema}".events`,
    )
  ).rows[0]!;
  const storeSpanMs = stored.last.getTime() - stored.first.getTime();
  const lastPosition = async () =>
    BigInt(
      (await pool.query<{ p: string }>(`SELECT max(position)::text AS p FROM "${schema}".events`)).rows[0]
        ?.p ?? '0',
    );
  const projected = async () =>
    BigInt(
      (
        await pool.query<{ p: string }>(
          `SELECT position::text AS p FROM "${schema}".checkpoints WHERE name = 'projection:executions'`,
        )
      ).rows[0]?.p ?? '0',
    );
  const head = await lastPosition();
  while ((await projected()) < head) await sleep(100);
  const projectorDoneAt = performance.now();
  const drain = {
    events: drainEvents.length,
    startupToFirstEventMs: Math.round(firstSeenAt - spawnedAt),
    recordMs: Math.round(drainDoneAt - firstSeenAt),
    eventsPerSec: Math.round(drainEvents.length / ((drainDoneAt - firstSeenAt) / 1000)),
    storeCommitSpanMs: storeSpanMs,
    storeEventsPerSec: Math.round(drainEvents.length / (storeSpanMs / 1000)),
    projectorCaughtUpAfterRecordingMs: Math.round(projectorDoneAt - drainDoneAt),
    projectorEventsPerSec: Math.round(drainEvents.length / ((projectorDoneAt - firstSeenAt) / 1000)),
  };
  const afterDrain = await appendStats();
  console.log('drain', drain, appendSummary(afterDrain));

  // Paced: the recorder runs and is caught up; events arrive at RATE per second in 20 ms slices.
  const pacedEvents = workload(
    Math.ceil((RATE * PACED_SECONDS) / 10),
    10,
    Date.parse('2026-12-02T00:00:00Z'),
  ).slice(0, RATE * PACED_SECONDS);
  const base = await count();
  let maxLag = 0;
  let sent = 0;
  const slice = Math.max(1, Math.round(RATE / 50));
  const pacedStart = performance.now();
  const sampler = setInterval(() => {
    void count().then((n) => {
      maxLag = Math.max(maxLag, sent - (n - base));
    });
  }, 250);
  for (let index = 0; index < pacedEvents.length; index += slice) {
    const due = pacedStart + (index / RATE) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    await produce(pacedEvents.slice(index, index + slice));
    sent = Math.min(pacedEvents.length, index + slice);
  }
  const producedAt = performance.now();
  const pacedDoneAt = await waitForCount(base + pacedEvents.length);
  clearInterval(sampler);
  const paced = {
    events: pacedEvents.length,
    targetRate: RATE,
    offeredEventsPerSec: Math.round(pacedEvents.length / ((producedAt - pacedStart) / 1000)),
    recordedEventsPerSec: Math.round(pacedEvents.length / ((pacedDoneAt - pacedStart) / 1000)),
    maxLagEvents: maxLag,
    drainedAfterLastProduceMs: Math.round(pacedDoneAt - producedAt),
  };
  const afterPaced = await appendStats();
  console.log('paced', paced, appendSummary(afterPaced, afterDrain));

  const version = (pkg: string) =>
    (
      JSON.parse(readFileSync(`${root}/node_modules/.pnpm/node_modules/${pkg}/package.json`, 'utf8')) as {
        version: string;
      }
    ).version;
  const pgVersion =
    (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ??
    'unknown';
  const result = {
    benchmark: 'recorder',
    date: new Date().toISOString(),
    command: 'pnpm bench:recorder',
    machine: {
      os: `${osType()} ${release()}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAverage1mBefore: Math.round((loadBefore ?? 0) * 100) / 100,
      loadAverage1mAfter: Math.round((loadavg()[0] ?? 0) * 100) / 100,
      node: process.version,
    },
    versions: {
      postgres: pgVersion,
      kafkaBroker: '4.4.0 (deploy/local)',
      kafkajs: version('kafkajs'),
      pg: version('pg'),
    },
    params: {
      events: EVENTS,
      executions: EXECUTIONS,
      partitions: PARTITIONS,
      eventStore: 'postgres',
      pacedRate: RATE,
      pacedSeconds: PACED_SECONDS,
      produceOrder: 'waves (every execution per step: the most streams per batch)',
    },
    produce: {
      events: drainEvents.length,
      ms: Math.round(produceMs),
      eventsPerSec: Math.round(drainEvents.length / (produceMs / 1000)),
    },
    drain,
    paced,
    appends: { drain: appendSummary(afterDrain), paced: appendSummary(afterPaced, afterDrain) },
    target: {
      eventsPerSec: TARGET,
      criteria:
        'drain: at least 5,000 events/s recorded end to end; paced: at the offered rate the recorder records at least 98% of it and is caught up within 2 s of the last produce',
      met:
        drain.eventsPerSec >= TARGET &&
        paced.recordedEventsPerSec >= Math.min(RATE, TARGET) * 0.98 &&
        paced.drainedAfterLastProduceMs < 2_000,
    },
  };
  writeFileSync(`${root}/docs/benchmarks/recorder.json`, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result.target));
} finally {
  if (recorder && recorder.exitCode === null) {
    const exited = new Promise((resolve) => recorder?.once('exit', resolve));
    recorder.kill('SIGTERM');
    await exited;
  }
  await producer.close();
  await admin
    .deleteTopics({ topics: [...Object.values(topics), `${topics.executions}.dlq`] })
    .catch(() => undefined);
  await admin.disconnect();
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`).catch(() => undefined);
  await pool.end();
}
