// node services/ticker/bench/ticker.bench.ts — fire lag and CPU of one ticker leader holding 10,000
// tasks, on the real local broker and Redis; writes docs/benchmarks/ticker.json.
//
// Two scenarios, each with a fresh set of topics and Redis keys:
//   spread:  1,000 per-second tasks + 9,000 per-minute tasks whose second is task index mod 60
//            (1,150 triggers every second) — how schedules usually spread out.
//   aligned: 1,000 per-second tasks + 9,000 per-minute tasks all at second 0 (10,000 triggers at
//            the top of each minute, 1,000 in the other seconds) — the worst burst.
// Tasks are spread round-robin over the ten catalogued task types, so each instant sends to ten
// trigger topics. Fire lag = the moment Kafka acknowledged the trigger (acks=all) minus its
// nominal time, for every trigger after the warm-up. CPU = process.cpuUsage() over the measured
// window (the whole ticker process: table consumer, running tracker, lease, producer).
// Baseline, in the same run on the same topics right after the ticker: the same triggers at the
// same instants through a bare kafkajs sendBatch (bench/baseline.ts), so the ticker's lag is also
// reported as a ratio to what the broker alone allows on this machine.
// Options (env): BENCH_SECONDS (120, measured per scenario and side), BENCH_WARMUP_SECONDS (15),
// BENCH_PER_SECOND (1000), BENCH_PER_MINUTE (9000), BENCH_SCENARIOS ("spread,aligned"),
// BENCH_PARTITIONS (6 per trigger topic), BENCH_PREPARE_AHEAD_MS (the ticker's default; the baseline 100),
// BENCH_BASELINE_COMPRESSION ("none" or "gzip", baseline only: what compression would change),
// BENCH_TRIGGER_SEND (the ticker's TICKER_TRIGGER_SEND; its default when unset),
// BENCH_PROBE_EVERY_MS (20: bench/visibility.ts), BENCH_OUT (docs/benchmarks/ticker.json).
// Both sides also report what a read-committed consumer of one trigger topic saw (bench/visibility.ts):
// each trigger's arrival minus its nominal time, and the delay of probe messages another producer
// wrote to that topic meanwhile (held back while a transaction is open on their partition).
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os';
import { join, resolve } from 'node:path';
import { TASK_TYPES, createContracts, type TaskDefinition } from '@openpenpal/contracts';
import { createKafkaClient, createProducer, provisionTopics } from '@openpenpal/messaging';
import { keySpace } from '@openpenpal/redis';
import { loadConfig, startService } from '@openpenpal/service-kit';
import { findWorkspaceRoot, loadStackEnv, uniqueName, type StackEnv } from '@openpenpal/test-kit';
import { retry } from '@openpenpal/timing';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { tickerConfigSchema } from '../src/config.ts';
import { runBaseline } from './baseline.ts';
import { round, stageSummary, summarize } from './stats.ts';
import { watchVisibility } from './visibility.ts';
import { triggerTopicFor } from '../src/definitions/task-spec.ts';
import { noopObserver, type TickerObserver } from '../src/metrics/observer.ts';
import { createTickerService } from '../src/service.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 120);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 15);
const PER_SECOND = Number(process.env.BENCH_PER_SECOND ?? 1_000);
const PER_MINUTE = Number(process.env.BENCH_PER_MINUTE ?? 9_000);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'spread,aligned').split(',') as ('spread' | 'aligned')[];
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6);
const BASELINE_GZIP = process.env.BENCH_BASELINE_COMPRESSION === 'gzip';
const OUT = process.env.BENCH_OUT ?? 'docs/benchmarks/ticker.json';
/** The ticker's own default when unset (100 ms direct, 500 ms transactional); the baseline's lead: 100. */
const PREPARE_AHEAD = process.env.BENCH_PREPARE_AHEAD_MS;
const PREPARE_AHEAD_MS = Number(PREPARE_AHEAD ?? 100);
const TRIGGER_SEND = process.env.BENCH_TRIGGER_SEND;
const PROBE_EVERY_MS = Number(process.env.BENCH_PROBE_EVERY_MS ?? 20);
const list = (values: readonly number[]) => summarize(Float64Array.from(values), values.length);
/** Issue 17: p99 ≤ 20 ms spread, ≤ 50 ms aligned, and within 1.2× of the bare sendBatch. */
const TARGET_P99_MS = { spread: 20, aligned: 50 } as const;
const TARGET_RATIO = 1.2;

const found = loadStackEnv();
if (!found) throw new Error('no stack: run `pnpm stack:up` first');
const stack: StackEnv = found;
const root = findWorkspaceRoot();
const logger = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' });
const contracts = createContracts();

function definitions(scenario: 'spread' | 'aligned'): TaskDefinition[] {
  const defs: TaskDefinition[] = [];
  const total = PER_SECOND + PER_MINUTE;
  for (let i = 0; i < total; i += 1) {
    const perSecond = i < PER_SECOND;
    const second = scenario === 'spread' ? i % 60 : 0;
    defs.push({
      task_id: `bench-${i}`,
      name: `bench task ${i}`,
      description: null,
      task_type: TASK_TYPES[i % TASK_TYPES.length] ?? 'letter_cleanup',
      priority: 'normal',
      cron_expression: perSecond ? '* * * * * *' : `${second} * * * * *`,
      timezone: i % 2 === 0 ? 'Asia/Shanghai' : 'Europe/Berlin',
      scheduled_at: null,
      payload: '{"bench":true}',
      max_retries: 3,
      timeout_secs: 60,
      is_active: true,
      start_date: null,
      end_date: null,
      max_runs: null,
      misfire_policy: 'fire_once',
      misfire_grace_ms: 60_000,
      misfire_fire_all_cap: 100,
      // `allow`: no handler runs in the benchmark to report executions finished.
      concurrency_policy: 'allow',
      revision: 0,
      created_by: 'bench',
      created_at: Date.now(),
      updated_at: Date.now(),
    });
  }
  return defs;
}

/** Per-minute task id → the second of the minute it fires at (per-second tasks are absent). */
function secondsOf(defs: readonly TaskDefinition[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const def of defs) {
    const [second, minute] = (def.cron_expression ?? '').split(' ');
    if (minute === '*' && second !== '*') out.set(def.task_id, Number(second));
  }
  return out;
}

async function runScenario(scenario: 'spread' | 'aligned') {
  const prefix = uniqueName('bench-ticker');
  const topics = {
    definitions: `${prefix}.task-definitions`,
    commands: `${prefix}.task-commands`,
    events: `${prefix}.execution-events`,
    triggerPrefix: `${prefix}.trigger.`,
  };
  const kafka = createKafkaClient({
    brokers: stack.kafkaBrokers,
    clientId: prefix,
    logger,
  });
  // Topic creation can fail transiently while the broker still deletes the last scenario's topics.
  // Six partitions per topic (not the catalogue's), so the ticker itself provisions nothing.
  await retry(
    () =>
      provisionTopics({
        kafka,
        logger,
        topics: [
          { name: topics.definitions, partitions: 6, retentionMs: -1, cleanupPolicy: 'compact' },
          { name: topics.commands, partitions: 3, retentionMs: 3_600_000, cleanupPolicy: 'delete' },
          { name: topics.events, partitions: 6, retentionMs: 3_600_000, cleanupPolicy: 'delete' },
          ...TASK_TYPES.map((t) => ({
            name: triggerTopicFor(topics.triggerPrefix, t),
            partitions: PARTITIONS,
            retentionMs: 3_600_000,
            cleanupPolicy: 'delete' as const,
          })),
        ],
      }),
    { attempts: 5, initialDelayMs: 1_000, maxDelayMs: 5_000 },
  );
  const producer = createProducer({ kafka, contracts, logger });
  await producer.connect();
  const watch = await watchVisibility({
    brokers: stack.kafkaBrokers,
    topic: triggerTopicFor(topics.triggerPrefix, TASK_TYPES[0]),
    partitions: PARTITIONS,
    probeEveryMs: PROBE_EVERY_MS,
    groupId: `${prefix}-visibility`,
  });
  const defs = definitions(scenario);
  for (let i = 0; i < defs.length; i += 2_000) {
    await producer.send(
      { topic: topics.definitions, schema: 'TaskDefinition' },
      defs.slice(i, i + 2_000).map((value) => ({ key: value.task_id, value })),
    );
  }
  const lags = new Float64Array(2_000_000);
  let count = 0;
  let measuring = false;
  let leading: () => void = () => undefined;
  const led = new Promise<void>((resolve) => {
    leading = resolve;
  });
  let tableLoadMs = Number.NaN;
  const batchSizes: number[] = [];
  // Per instant (ms): fence + encode time, how far ahead of the instant it was ready (negative:
  // late), timer wake-up after the instant, the send (kafkajs build + broker), the whole lag; then
  // the follow-up that holds the loop: next times, TaskTriggered events, checkpoint commit.
  const stages: {
    triggers: number;
    prepare: number;
    readyAhead: number;
    wake: number;
    send: number;
    lag: number;
    lookAhead: number;
    events: number;
    commit: number;
  }[] = [];
  // Transactional sends, per instant: how long before the instant its transaction was written,
  // how long the write took, and how long it was ready before the instant (negative: late).
  const staging: { triggers: number; lead: number; write: number; readyAhead: number }[] = [];
  const observer: TickerObserver = {
    ...noopObserver,
    acknowledged: (fires, ackAt) => {
      if (!measuring) return;
      batchSizes.push(fires.length);
      for (const fire of fires) if (count < lags.length) lags[count++] = ackAt - fire.nominal;
    },
    fireStages: (s) => {
      if (!measuring) return;
      stages.push({
        triggers: s.triggers,
        prepare: s.prepared - s.started,
        readyAhead: s.instant - s.prepared,
        wake: s.released - s.instant,
        send: s.acked - s.released,
        lag: s.acked - s.instant,
        lookAhead: s.lookedAhead - s.acked,
        events: s.eventsSent - s.lookedAhead,
        commit: s.committed - s.eventsSent,
      });
      if (s.staging !== undefined && s.staged !== undefined)
        staging.push({
          triggers: s.triggers,
          lead: s.instant - s.staging,
          write: s.staged - s.staging,
          readyAhead: s.instant - s.staged,
        });
    },
    leader: (is) => {
      if (is) leading();
    },
    tableLoaded: (ms) => {
      tableLoadMs = ms;
    },
  };
  const config = loadConfig(tickerConfigSchema, {
    KAFKA_BROKERS: stack.kafkaBrokers.join(','),
    KAFKA_CLIENT_ID: prefix,
    KAFKA_GROUP_ID: prefix,
    KAFKA_PROVISION_TOPICS: 'false',
    REDIS_URL: stack.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    REDIS_COMMAND_TIMEOUT_MS: '2000',
    HTTP_PORT: '0',
    INSTANCE_ID: 'bench',
    TICKER_DEFINITIONS_TOPIC: topics.definitions,
    TICKER_COMMANDS_TOPIC: topics.commands,
    TICKER_EXECUTION_EVENTS_TOPIC: topics.events,
    TICKER_TRIGGER_TOPIC_PREFIX: topics.triggerPrefix,
    TICKER_LEASE_TTL_MS: '10000',
    TICKER_MAX_SEND_BATCH: '10000',
    ...(PREPARE_AHEAD ? { TICKER_PREPARE_AHEAD_MS: PREPARE_AHEAD } : {}),
    ...(TRIGGER_SEND ? { TICKER_TRIGGER_SEND: TRIGGER_SEND } : {}),
  });
  const ticker = await startService(createTickerService({ observer }), { config, logger });
  await led;
  console.log(
    `[${scenario}] table of ${defs.length} loaded in ${round(tableLoadMs, 0)} ms; warming up ${WARMUP} s`,
  );
  await new Promise((resolve) => setTimeout(resolve, WARMUP * 1_000));

  measuring = true;
  await watch.record();
  const loadBefore = loadavg()[0] ?? 0;
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1_000));
  const cpu = process.cpuUsage(cpuStart);
  const wallMs = performance.now() - wallStart;
  measuring = false;
  const seen = await watch.take();
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;

  await ticker.close();
  await producer.close();

  console.log(`[${scenario}] baseline: bare kafkajs sendBatch of the same triggers, ${SECONDS} s`);
  const loadBeforeBaseline = loadavg()[0] ?? 0;
  await watch.record();
  const baseline = await runBaseline({
    kafka,
    defs,
    secondOf: secondsOf(defs),
    triggerPrefix: topics.triggerPrefix,
    warmupSeconds: Math.min(WARMUP, 5),
    seconds: SECONDS,
    prepareAheadMs: PREPARE_AHEAD_MS,
    gzip: BASELINE_GZIP,
  });
  const baseSeen = await watch.take();
  await watch.close();
  const redis = new Redis(stack.redisUrl, { lazyConnect: true });
  await redis.connect();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', keySpace(prefix).pattern, 'COUNT', 1_000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  redis.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
  await admin.deleteTopics({ topics: mine });
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
  if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  await admin.disconnect();

  const lag = summarize(lags, count);
  const baseLag = summarize(baseline.lags, baseline.count);
  const target = TARGET_P99_MS[scenario];
  const ratio = { p50: round(lag.p50 / baseLag.p50), p99: round(lag.p99 / baseLag.p99) };
  const cpuMs = (cpu.user + cpu.system) / 1_000;
  const tasks = defs.length;
  const result = {
    scenario,
    tasks,
    perSecondTasks: PER_SECOND,
    perMinuteTasks: PER_MINUTE,
    measuredSeconds: round(wallMs / 1_000, 1),
    triggersMeasured: count,
    largestBatch: Math.max(0, ...batchSizes),
    tableLoadMs: round(tableLoadMs, 0),
    triggerSend: config.TICKER_TRIGGER_SEND,
    prepareAheadMs: config.TICKER_PREPARE_AHEAD_MS,
    fireLagMs: lag,
    stagesMs: stageSummary(stages),
    transactionStagesMs: stageSummary(staging),
    // One trigger topic read as handlers read it (committed), and probes another producer wrote to it.
    visibleLagMs: list(seen.triggerLag),
    probeDelayMs: list(seen.probeDelay),
    baseline: {
      what: 'the same triggers at the same instants, bare kafkajs sendBatch (idempotent, acks=all)',
      compression: BASELINE_GZIP ? 'gzip' : 'none',
      triggersMeasured: baseline.count,
      largestBatch: baseline.largestBatch,
      fireLagMs: baseLag,
      // Per instant: timer wake-up, request build (kafkajs encoding), queueing, round trip.
      stagesMs: stageSummary(baseline.stages),
      // Includes the baseline's 5 s warm-up.
      visibleLagMs: list(baseSeen.triggerLag),
      probeDelayMs: list(baseSeen.probeDelay),
      machineLoad1mBefore: round(loadBeforeBaseline),
    },
    ratioToBaseline: ratio,
    targetP99Ms: target,
    targetRatio: TARGET_RATIO,
    targetMet: lag.p99 <= target && ratio.p99 <= TARGET_RATIO,
    cpu: {
      totalMs: round(cpuMs, 0),
      percentOfOneCore: round((cpuMs / wallMs) * 100, 1),
      msPerSecondPer1000Tasks: round(cpuMs / (wallMs / 1_000) / (tasks / 1_000), 2),
      usPerTrigger: round((cpuMs * 1_000) / Math.max(1, count), 1),
    },
    // Other processes on the machine (other test suites, the broker) compete for the same CPUs.
    machineLoad1m: { before: round(loadBefore), after: round(loadavg()[0] ?? 0) },
    rssMiB: round(rssMiB, 0),
    heapUsedMiB: round(heapMiB, 0),
  };
  console.log(JSON.stringify(result));
  return { result, redisVersion };
}

const results = [];
let redisVersion = 'unknown';
for (const scenario of SCENARIOS) {
  const run = await runScenario(scenario);
  results.push(run.result);
  redisVersion = run.redisVersion;
}
const cpu = cpus();
// pnpm's hoisted view of the store: the path does not depend on a patch hash in the store's name.
const version = (pkg: string) =>
  (
    JSON.parse(readFileSync(join(root, 'node_modules/.pnpm/node_modules', pkg, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
const report = {
  benchmark: 'ticker',
  date: new Date().toISOString(),
  command: `${Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v} `)
    .join('')}node services/ticker/bench/ticker.bench.ts`,
  machine: {
    os: `${osType()} ${release()}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  versions: {
    kafkajs: `${version('kafkajs')} (patches/kafkajs@2.2.4.patch)`,
    ioredis: version('ioredis'),
    kafkaBroker: '4.4.0 (deploy/local, single node)',
    redisServer: redisVersion,
  },
  params: {
    seconds: SECONDS,
    warmupSeconds: WARMUP,
    taskTypes: TASK_TYPES.length,
    partitionsPerTopic: PARTITIONS,
    baselinePrepareAheadMs: PREPARE_AHEAD_MS,
    probeEveryMs: PROBE_EVERY_MS,
  },
  notes: [
    'fire lag = Kafka acknowledgement (acks=all) of the trigger minus its nominal time; with triggerSend=transactional the answer to the commit (EndTxn) of the transaction written ahead',
    'visibleLagMs = arrival at a read-committed consumer of one trigger topic minus nominal time; probeDelayMs = send-to-arrival of probe messages another producer wrote to that topic (bench/visibility.ts)',
    'cpu = process.cpuUsage() of the whole ticker process over the measured window',
    'baseline = the same triggers at the same instants through a bare kafkajs sendBatch, run right after the ticker on the same topics; ratioToBaseline = ticker / baseline',
    'the machine has 2 shared vCPUs: broker, Redis, the ticker and the harness share them',
  ],
  results,
};
writeFileSync(resolve(root, OUT), `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote ${OUT}`);
