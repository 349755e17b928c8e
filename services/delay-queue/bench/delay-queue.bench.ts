// pnpm bench:delay-queue (node services/delay-queue/bench/delay-queue.bench.ts) — this service (Kafka
// in, Redis, Kafka out; the service runs as its own process, src/main.ts) against BullMQ delayed jobs
// with a no-op worker, on the same machine and the same Redis: (a) scheduling throughput, (b) dispatch
// throughput of a backlog that falls due at once, (c) lateness at a steady rate with many other
// messages pending, (d) Redis memory per pending message, (e) burst: BENCH_BURST requests produced
// as fast as the producer can, each due 30 s later (BullMQ: addBulk of the same jobs), (f) paced:
// 500 requests/s due 1-10 s ahead. Writes docs/benchmarks/delay-queue.json.
// Options (env): BENCH_ONLY (ours,bull), BENCH_PHASES (scheduling,burst,paced,backlog,lateness: the
// full run; lateness includes the memory figures), BENCH_SCHEDULE (50000), BENCH_BACKLOG (100000),
// BENCH_BURST (100000), BENCH_BURST_DELAY_MS (30000), BENCH_PACED_RATE (500), BENCH_PACED_SECONDS (60),
// BENCH_BACKGROUND (1000000), BENCH_RATE (2000), BENCH_SECONDS (90), BENCH_SPREAD_MS (60000),
// BENCH_BULL_CONCURRENCY (100), BENCH_PAYLOAD_BYTES (200), BENCH_CPU_PROF_DIR (profile the service),
// BENCH_OUT (result file).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findWorkspaceRoot, loadStackEnv } from '@openpenpal/test-kit';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { encodeRecord } from '../src/record.ts';
import { bullBacklog, bullLateness, bullMemory, bullScheduling } from './bullmq.ts';
import { TRACEPARENT, machineInfo, redisVersion, round, textPayload, triggerPayload } from './common.ts';
import { oursBacklog, oursLateness } from './ours-runs.ts';
import { bullBurst, bullPaced, oursBurst, oursPaced } from './scenarios.ts';
import { oursMemory, oursScheduling, scheduleRequest, startOurs } from './ours.ts';
import { freePort } from '../test/own-redis.ts';

const env = process.env;
const num = (name: string, fallback: number): number => Number(env[name] ?? fallback);
const params = {
  schedule: num('BENCH_SCHEDULE', 50_000),
  backlog: num('BENCH_BACKLOG', 100_000),
  background: num('BENCH_BACKGROUND', 1_000_000),
  rate: num('BENCH_RATE', 2_000),
  seconds: num('BENCH_SECONDS', 90),
  spreadMs: num('BENCH_SPREAD_MS', 60_000),
  bullConcurrency: num('BENCH_BULL_CONCURRENCY', 100),
  payloadBytes: num('BENCH_PAYLOAD_BYTES', 200),
  burst: num('BENCH_BURST', 100_000),
  burstDelayMs: num('BENCH_BURST_DELAY_MS', 30_000),
  pacedRate: num('BENCH_PACED_RATE', 500),
  pacedSeconds: num('BENCH_PACED_SECONDS', 60),
};
const phases = new Set((env.BENCH_PHASES ?? 'scheduling,burst,paced,backlog,lateness').split(','));
const only = new Set((env.BENCH_ONLY ?? 'ours,bull').split(','));
const TARGETS = {
  latenessP99Ms: 50,
  latenessMaxMs: 250,
  dispatchVsBullmq: 1,
  schedulingVsBullmqAdd: 1,
  memoryVsBullmq: 0.55,
};
const CATALOGUE_TARGET = 'scheduler.trigger.ai-penpal-reply';
const TARGET_KEY = 'ai_penpal_reply';

const stack = loadStackEnv();
if (!stack) throw new Error('no stack: run `pnpm stack:up` first');
const stackEnv = stack;
const logger = pino({ level: 'warn' });
const redis = new Redis(stack.redisUrl);
const payload = triggerPayload(params.payloadBytes);
const bullPayload = textPayload(params.payloadBytes);
const root = findWorkspaceRoot();
const log = (message: string): void => {
  console.log(`[${new Date().toISOString()}] ${message}`);
};
/** Phases that failed (a busy machine can make a fill miss its margin): the rest still run and are written. */
const failures: Record<string, string> = {};
function safe<A extends unknown[], T>(name: string, work: (...args: A) => Promise<T>) {
  return async (...args: A): Promise<T | undefined> => {
    try {
      return await work(...args);
    } catch (error) {
      failures[name] = error instanceof Error ? error.message : String(error);
      log(`${name} failed: ${failures[name]}`);
      return undefined;
    }
  };
}

/** A phase's headline figures as soon as it ends, so a long run shows progress. */
function show<T>(name: string, result: T): T {
  if (result === undefined) return result;
  const brief = JSON.stringify(result, (key, value: unknown) =>
    key === 'signals' || key === 'latenessByDueTime' || key === 'timeline' ? undefined : value,
  );
  log(`${name}: ${brief}`);
  return result;
}

async function runOurs() {
  const ctx = await startOurs({
    stack: stackEnv,
    redis,
    logger,
    httpPort: await freePort(),
    cpuProfDir: env.BENCH_CPU_PROF_DIR,
  });
  try {
    const build = (i: number) =>
      scheduleRequest(`a-${i}`, Date.now() + 3_600_000, ctx.topics.target, payload, TRACEPARENT);
    if (phases.has('scheduling')) log(`ours (a): ${params.schedule} schedule requests through Kafka`);
    const scheduling = phases.has('scheduling')
      ? show('ours (a) msg/s', await safe('ours (a)', oursScheduling)(ctx, params.schedule, build))
      : undefined;
    if (phases.has('burst')) log(`ours (e): burst of ${params.burst}, due ${params.burstDelayMs} ms later`);
    const burst = phases.has('burst')
      ? show(
          'ours (e)',
          await safe('ours (e)', oursBurst)(ctx, {
            count: params.burst,
            delayMs: params.burstDelayMs,
            payload,
            traceparent: TRACEPARENT,
          }),
        )
      : undefined;
    if (phases.has('paced'))
      log(`ours (f): ${params.pacedRate}/s for ${params.pacedSeconds} s, due 1-10 s ahead`);
    const pacedRun = phases.has('paced')
      ? show(
          'ours (f)',
          await safe('ours (f)', oursPaced)(ctx, {
            rate: params.pacedRate,
            seconds: params.pacedSeconds,
            payload,
            traceparent: TRACEPARENT,
          }),
        )
      : undefined;
    if (phases.has('backlog')) log(`ours (b): backlog of ${params.backlog}`);
    const backlogRecord = encodeRecord({
      topic: ctx.topics.target,
      key: TARGET_KEY,
      headers: { traceparent: Buffer.from(TRACEPARENT) },
      payload,
    });
    const backlog = phases.has('backlog')
      ? show('ours (b)', await safe('ours (b)', oursBacklog)(ctx, params.backlog, backlogRecord))
      : undefined;
    const typical = encodeRecord({
      topic: CATALOGUE_TARGET,
      key: TARGET_KEY,
      headers: { traceparent: Buffer.from(TRACEPARENT) },
      payload,
    });
    if (!phases.has('lateness')) return { schedulingMsgPerSec: scheduling, burst, paced: pacedRun, backlog };
    log(`ours (c)+(d): ${params.background} pending, then ${params.rate}/s for ${params.seconds} s`);
    const lateness = show(
      'ours (c)',
      await oursLateness(ctx, {
        ...params,
        backgroundRecord: typical,
        payload,
        traceparent: TRACEPARENT,
      }),
    );
    log('ours (d): payload-only record shape');
    const payloadOnly = await oursMemory(redis, params.background, {
      topic: CATALOGUE_TARGET,
      key: null,
      headers: {},
      payload,
    });
    return {
      schedulingMsgPerSec: scheduling,
      burst,
      paced: pacedRun,
      backlog,
      lateness,
      memory: {
        typicalRecordBytes: typical.length,
        typicalBytesPerItem: round(lateness.backgroundBytesPerItem),
        payloadOnlyRecordBytes: encodeRecord({ topic: CATALOGUE_TARGET, key: null, headers: {}, payload })
          .length,
        payloadOnlyBytesPerItem: round(payloadOnly),
      },
    };
  } finally {
    await ctx.close();
  }
}

async function runBull() {
  if (phases.has('scheduling')) log(`bullmq (a): ${params.schedule} adds`);
  const scheduling = phases.has('scheduling')
    ? await safe('bullmq (a)', bullScheduling)(stackEnv.redisUrl, redis, params.schedule, bullPayload)
    : undefined;
  if (phases.has('burst'))
    log(`bullmq (e): addBulk burst of ${params.burst}, due ${params.burstDelayMs} ms later`);
  const burst = phases.has('burst')
    ? await safe('bullmq (e)', bullBurst)(stackEnv.redisUrl, redis, {
        count: params.burst,
        delayMs: params.burstDelayMs,
        payload: bullPayload,
        concurrency: params.bullConcurrency,
      })
    : undefined;
  if (phases.has('paced'))
    log(`bullmq (f): ${params.pacedRate}/s for ${params.pacedSeconds} s, due 1-10 s ahead`);
  const pacedRun = phases.has('paced')
    ? await safe('bullmq (f)', bullPaced)(stackEnv.redisUrl, redis, {
        rate: params.pacedRate,
        seconds: params.pacedSeconds,
        payload: bullPayload,
        concurrency: params.bullConcurrency,
      })
    : undefined;
  if (phases.has('backlog')) log(`bullmq (b): backlog of ${params.backlog}`);
  const backlog = phases.has('backlog')
    ? await safe('bullmq (b)', bullBacklog)(
        stackEnv.redisUrl,
        redis,
        params.backlog,
        bullPayload,
        params.bullConcurrency,
      )
    : undefined;
  if (!phases.has('lateness')) return { scheduling, burst, paced: pacedRun, backlog };
  log(`bullmq (c)+(d): ${params.background} pending, then ${params.rate}/s for ${params.seconds} s`);
  const lateness = await bullLateness(stackEnv.redisUrl, redis, {
    ...params,
    payload: bullPayload,
    concurrency: params.bullConcurrency,
  });
  log('bullmq (d): UUID jobIds');
  const uuidIds = await bullMemory(stackEnv.redisUrl, redis, params.background, bullPayload, true);
  return {
    scheduling,
    burst,
    paced: pacedRun,
    backlog,
    lateness,
    memory: {
      autoIdBytesPerItem: round(lateness.backgroundBytesPerItem),
      uuidJobIdBytesPerItem: round(uuidIds),
    },
  };
}

type OursResult = Awaited<ReturnType<typeof runOurs>>;
type BullResult = Awaited<ReturnType<typeof runBull>>;

const verdict = (value: number | undefined, target: number, atMost: boolean) => ({
  value: value === undefined ? null : round(value, 3),
  target: `${atMost ? '<=' : '>='} ${target}`,
  met: value === undefined ? null : atMost ? value <= target : value >= target,
});

function verdicts(ours: OursResult | undefined, bull: BullResult | undefined) {
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : a / b;
  const oursMemory = ours && 'memory' in ours ? ours.memory : undefined;
  const bullMemory = bull && 'memory' in bull ? bull.memory : undefined;
  const oursLateness = ours && 'lateness' in ours ? ours.lateness : undefined;
  return {
    schedulingVsBullmqAdd: verdict(
      ratio(ours?.schedulingMsgPerSec, bull?.scheduling?.addMsgPerSec),
      TARGETS.schedulingVsBullmqAdd,
      false,
    ),
    burstStoredLate: verdict(ours?.burst?.storedLate, 0, true),
    burstLatenessP99Ms: verdict(ours?.burst?.lateness.p99, TARGETS.latenessP99Ms, true),
    burstLatenessMaxMs: verdict(ours?.burst?.lateness.max, TARGETS.latenessMaxMs, true),
    burstLostOrDuplicated: verdict(ours?.burst && ours.burst.lost + ours.burst.duplicated, 0, true),
    pacedLatenessP99Ms: verdict(ours?.paced?.lateness.p99, TARGETS.latenessP99Ms, true),
    pacedLostOrDuplicated: verdict(ours?.paced && ours.paced.lost + ours.paced.duplicated, 0, true),
    latenessP99Ms: verdict(oursLateness?.dispatch.p99, TARGETS.latenessP99Ms, true),
    latenessMaxMs: verdict(oursLateness?.dispatch.max, TARGETS.latenessMaxMs, true),
    dispatchThroughputVsBullmq: verdict(
      ratio(ours?.backlog?.msgPerSec, bull?.backlog?.msgPerSec),
      TARGETS.dispatchVsBullmq,
      false,
    ),
    memoryTypicalRecordVsBullmqAutoIds: verdict(
      ratio(oursMemory?.typicalBytesPerItem, bullMemory?.autoIdBytesPerItem),
      TARGETS.memoryVsBullmq,
      true,
    ),
    memoryPayloadOnlyVsBullmqAutoIds: verdict(
      ratio(oursMemory?.payloadOnlyBytesPerItem, bullMemory?.autoIdBytesPerItem),
      TARGETS.memoryVsBullmq,
      true,
    ),
    memoryTypicalRecordVsBullmqUuidJobIds: verdict(
      ratio(oursMemory?.typicalBytesPerItem, bullMemory?.uuidJobIdBytesPerItem),
      TARGETS.memoryVsBullmq,
      true,
    ),
  };
}

const started = Date.now();
try {
  const ours = only.has('ours') ? await runOurs() : undefined;
  const bull = only.has('bull') ? await runBull() : undefined;
  const bullmqVersion = (
    JSON.parse(readFileSync(join(root, 'services/delay-queue/node_modules/bullmq/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const report = {
    benchmark: 'delay-queue',
    date: new Date().toISOString(),
    command: 'node services/delay-queue/bench/delay-queue.bench.ts (root script bench:delay-queue)',
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine: machineInfo(),
    versions: {
      redis: await redisVersion(redis),
      bullmq: bullmqVersion,
      kafkajs: '2.2.4',
      kafkaBroker: '4.4.0 (deploy/local)',
    },
    note: env.BENCH_NOTE ?? null,
    phases: [...phases],
    params: {
      ...params,
      bullmqJobData: `${params.payloadBytes}-character string`,
      ourPayload: `${params.payloadBytes}-byte Avro TaskTrigger`,
    },
    failures,
    ours,
    bullmq: bull,
    targets: verdicts(ours, bull),
  };
  const out = env.BENCH_OUT ?? join(root, 'docs/benchmarks/delay-queue.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${out}`);
  console.log(JSON.stringify(report.targets, null, 2));
} finally {
  redis.disconnect();
}
