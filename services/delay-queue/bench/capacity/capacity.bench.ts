// pnpm bench:capacity — what one delayed message costs, for the capacity model in docs/scaling.md.
// The delay queue and the recorder run as processes of their own (node …/src/main.ts) on topics of
// the run's own, the delay queue on a redis-server of the run's own (so its INFO counters hold only
// this run), the recorder on the stack's PostgreSQL in a schema of its own. BENCH_MESSAGES schedule
// requests (a 200-byte payload, a key and a traceparent, like the delay-queue benchmark's typical
// record) are produced at BENCH_RATE per second, due BENCH_LEAD_SECONDS after the last one and spread
// over BENCH_DUE_SPREAD_SECONDS, so the phases do not overlap:
//   intake   — produced → every DelayedMessageScheduled on Kafka (all pending in Redis);
//   dispatch — → every message on its target topic and every DelayedMessageDispatched;
//   recorder — → both events of every message stored in the event store.
// Per phase: CPU of each process (/proc, µs), Redis commands, network bytes, CPU and memory (INFO);
// Kafka records and bytes per topic (as handed to Kafka, and as its log segments hold them).
// Writes docs/benchmarks/capacity.json.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  createPgTestContext,
  findWorkspaceRoot,
  loadStackEnv,
  testKafkaClient,
  uniqueName,
} from '@openpenpal/test-kit';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { unionBranch } from '@openpenpal/contracts';
import { createProducer } from '@openpenpal/messaging';
import { contracts, TRACEPARENT, triggerPayload } from '../common.ts';
import { scheduleRequest } from '../ours.ts';
import { costsOf, messageCosts, type Snapshot } from './costs.ts';
import { PLANNING_ASSUMPTIONS, sizeFor, TARGETS } from './model.ts';
import { createRedisProbe, kafkaLogDir, processCpuUs, startOwnRedis, topicLogBytes } from './probes.ts';
import { freePort, spawnService } from './processes.ts';
import { startTopicMeter } from './topic-meter.ts';

const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const params = {
  messages: num('BENCH_MESSAGES', 100_000),
  rate: num('BENCH_RATE', 5_000),
  leadSeconds: num('BENCH_LEAD_SECONDS', 15),
  dueSpreadSeconds: num('BENCH_DUE_SPREAD_SECONDS', 10),
  payloadBytes: 200,
  partitions: 6,
  idleSeconds: num('BENCH_IDLE_SECONDS', 5),
};
const stack = loadStackEnv();
if (!stack) throw new Error('no stack: run `pnpm stack:up` first');
const root = findWorkspaceRoot();
const logger = pino({ level: 'warn' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (text: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${text}`);
async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const loadBefore = loadavg();
const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
const source = {
  commit: git('rev-parse', 'HEAD').trim(),
  // Other work in progress in the tree the services ran from (the measurement is of that code).
  uncommitted_in_measured_services: git(
    'status',
    '--porcelain',
    '--',
    'services/delay-queue/src',
    'services/recorder/src',
    'packages',
  )
    .split('\n')
    .filter(Boolean),
};
const kafka = testKafkaClient(stack, 'bench-capacity');
const topics = {
  requests: uniqueName('cap-requests'),
  events: uniqueName('cap-delay-events'),
  target: uniqueName('cap-target'),
  executions: uniqueName('cap-executions'),
  notifications: uniqueName('cap-notifications'),
  definitions: uniqueName('cap-definitions'),
  commands: uniqueName('cap-commands'),
};
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  waitForLeaders: true,
  topics: Object.entries(topics).map(([label, topic]) => ({
    topic,
    numPartitions: ['requests', 'events', 'target'].includes(label) ? params.partitions : 1,
    replicationFactor: 1,
  })),
});
const ownRedis = await startOwnRedis(await freePort());
const redis = new Redis(ownRedis.url, { lazyConnect: true });
await redis.connect();
const probe = createRedisProbe(redis);
const pg = await createPgTestContext(stack);
const services: { stop(): Promise<void> }[] = [];
const requester = createProducer({ kafka, contracts, logger });
try {
  const delayQueue = await spawnService(root, 'services/delay-queue/src/main.ts', {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: uniqueName('cap-dq'),
    REDIS_URL: ownRedis.url,
    REDIS_KEY_PREFIX: uniqueName('cap-dq'),
    DELAY_QUEUE_REQUESTS_TOPIC: topics.requests,
    DELAY_QUEUE_EVENTS_TOPIC: topics.events,
    DELAY_QUEUE_EXTRA_TOPICS: topics.target,
    LOG_LEVEL: 'warn',
  });
  services.push(delayQueue);
  const recorder = await spawnService(root, 'services/recorder/src/main.ts', {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_GROUP_ID: uniqueName('cap-recorder'),
    KAFKA_PROVISION_TOPICS: 'false',
    DATABASE_URL: stack.databaseUrl,
    EVENT_STORE_PG_SCHEMA: pg.schema,
    RECORDER_DB_SCHEMA: pg.schema,
    RECORDER_EXECUTION_EVENTS_TOPIC: topics.executions,
    RECORDER_DELAY_EVENTS_TOPIC: topics.events,
    RECORDER_NOTIFICATION_EVENTS_TOPIC: topics.notifications,
    RECORDER_DEFINITIONS_TOPIC: topics.definitions,
    RECORDER_COMMANDS_TOPIC: topics.commands,
    LOG_LEVEL: 'warn',
  });
  services.push(recorder);
  const meter = await startTopicMeter(kafka, {
    topics: [topics.requests, topics.events, topics.target],
    eventsTopic: topics.events,
    groupId: uniqueName('cap-meter'),
  });
  await requester.connect();
  const logDir = kafkaLogDir(root);
  const pgBytes = async () =>
    Number(
      (
        await pg.pool.query<{ bytes: string }>(
          `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS bytes
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
          [pg.schema],
        )
      ).rows[0]?.bytes ?? 0,
    );
  const storedEvents = async () =>
    Number((await pg.pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM events`)).rows[0]?.n ?? 0);
  const snapshot = async (): Promise<Snapshot> => ({
    at: Date.now(),
    delayQueueCpuUs: processCpuUs(delayQueue.pid),
    recorderCpuUs: processCpuUs(recorder.pid),
    redis: await probe.snapshot(),
    pgBytes: await pgBytes(),
    storedEvents: await storedEvents().catch(() => 0),
    logBytes: Object.fromEntries(
      Object.entries(topics).map(([label, topic]) => [label, logDir ? topicLogBytes(logDir, topic) : 0]),
    ),
  });

  say(`idle for ${params.idleSeconds} s (what the processes cost doing nothing)`);
  const idleStart = await snapshot();
  await sleep(params.idleSeconds * 1000);
  const s0 = await snapshot();

  const payload = triggerPayload(params.payloadBytes);
  const producing = params.messages / params.rate;
  const dueStart = Date.now() + (producing + params.leadSeconds) * 1000;
  say(
    `producing ${params.messages} schedule requests at ${params.rate}/s, due from +${producing + params.leadSeconds} s`,
  );
  // Sends of at most 1,000 (a late tick must not build a batch over Kafka's limit), four in flight
  // (more would wait on the idempotent producer's lock until it times out on a busy machine).
  const inFlight = new Set<Promise<void>>();
  let failed: Error | undefined;
  let sent = 0;
  const started = Date.now();
  while (sent < params.messages && failed === undefined) {
    const owed = Math.min(
      params.messages,
      sent + 1_000,
      Math.floor(((Date.now() - started) * params.rate) / 1000),
    );
    if (owed <= sent) {
      await sleep(10);
      continue;
    }
    if (inFlight.size >= 4) {
      await Promise.race(inFlight);
      continue;
    }
    const requests = Array.from({ length: owed - sent }, (_, i) => {
      const index = sent + i;
      const dueAt = dueStart + Math.floor((index * params.dueSpreadSeconds * 1000) / params.messages);
      return scheduleRequest(`cap:${randomUUID()}`, dueAt, topics.target, payload, TRACEPARENT);
    });
    sent = owed;
    const sending: Promise<void> = requester
      .send(
        { topic: topics.requests, schema: 'DelayRequest' },
        requests.map((value) => ({ key: unionBranch(value.event).value.message_id, value })),
      )
      .then(
        () => undefined,
        (error: unknown) => {
          failed = error instanceof Error ? error : new Error(String(error));
        },
      )
      .finally(() => inFlight.delete(sending));
    inFlight.add(sending);
  }
  await Promise.all(inFlight);
  const produced = Date.now();
  if (failed !== undefined) throw failed;
  await until(
    'every message scheduled',
    () => (meter.events.DelayedMessageScheduled ?? 0) >= params.messages,
  );
  const s1 = await snapshot();
  const intakeOverlapped = s1.at >= dueStart;
  say(
    `all pending ${((s1.at - started) / 1000).toFixed(1)} s after the first request${intakeOverlapped ? ' (after the first due time: phases overlap)' : ''}`,
  );

  await until(
    'every message dispatched',
    () =>
      (meter.events.DelayedMessageDispatched ?? 0) >= params.messages &&
      (meter.topics[topics.target]?.records ?? 0) >= params.messages,
  );
  // The acks follow the Dispatched events; give them a moment, then check nothing is left.
  await sleep(1_000);
  const s2 = await snapshot();
  say(`all dispatched ${((s2.at - dueStart) / 1000).toFixed(1)} s after the first due time`);
  await until(
    'both events of every message recorded',
    async () => (await storedEvents()) >= 2 * params.messages,
  );
  const s3 = await snapshot();
  say('recorded');

  const costs = costsOf({ idleStart, s0, s1, s2, s3, messages: params.messages, topics }, meter);
  const perMessage = messageCosts(costs);
  const result = {
    benchmark: 'capacity',
    command: 'pnpm bench:capacity',
    date: new Date().toISOString(),
    machine: {
      os: `${osType()} ${release()}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverageBefore: loadBefore.map((l) => Number(l.toFixed(2))),
      loadAverageAfter: loadavg().map((l) => Number(l.toFixed(2))),
      note: "2 vCPUs shared with other engineers' work; CPU is per process (/proc), so it counts only what the process ran, but a busy machine makes every instruction slower",
    },
    versions: {
      redis: ownRedis.version,
      kafkaBroker: '4.4.0 (deploy/local, one broker)',
      postgres: (await pg.pool.query<{ v: string }>('SHOW server_version')).rows[0]?.v ?? 'unknown',
    },
    source,
    params,
    phases: {
      offered_per_second: Math.round((params.messages * 1000) / (produced - started)),
      intake_ms: s1.at - s0.at,
      dispatch_ms: s2.at - s1.at,
      recorder_caught_up_after_dispatch_ms: s3.at - s2.at,
      intake_overlapped_dispatch: intakeOverlapped,
    },
    costs,
    model: {
      per_message: perMessage,
      assumptions: PLANNING_ASSUMPTIONS,
      targets: TARGETS.map((target) => ({ ...target, ...sizeFor(perMessage, PLANNING_ASSUMPTIONS, target) })),
    },
  };
  const out = join(root, 'docs/benchmarks/capacity.json');
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ costs, model: result.model }, null, 2));
  say(`written to ${out}`);
  await meter.close();
} finally {
  await requester.close().catch(() => undefined);
  for (const service of services.reverse()) await service.stop();
  redis.disconnect();
  await ownRedis.stop();
  await pg.close();
  const existing = new Set(await admin.listTopics());
  const mine = Object.values(topics).flatMap((topic) => [topic, `${topic}.dlq`]);
  await admin.deleteTopics({ topics: mine.filter((topic) => existing.has(topic)) }).catch(() => undefined);
  await admin.disconnect();
}
