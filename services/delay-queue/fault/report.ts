import { javaVersion, machine, sourceTree } from '@openpenpal/test-kit';
import { Redis } from 'ioredis';
import { delayQueueConfigSchema } from '../src/config.ts';
import { delayStoreKeys, readShardLayout, shardPrefix } from '../src/store/index.ts';
import {
  DEFAULT_RECOVERY,
  deliveryRatios,
  minRatio,
  peakRate,
  phaseResult,
  shareAtOrAbove,
  type PhaseTimes,
} from './analysis.ts';
import { duplicateSample, latenessOfDue, latenessTimeline, totals } from './summaries.ts';
import type { Ledger } from './ledger.ts';
import type { LoadStats } from './load.ts';
import type { FaultOptions } from './options.ts';
import type { ReadinessChange, UnexpectedExit } from './service-process.ts';

const DEFINITIONS = {
  restart:
    'service: the new process was spawned right after the killed one exited (its own start-up counts against it); redis, kafka: the new server logged that it was ready',
  firstDelivery:
    'the first copy on the target topic that the delay queue published after the kill (record CreateTime) and the observer received after the restart',
  rateBackTo90Percent:
    'the end of the first 1 s window, at or after the restart and a full window after the kill, from which first copies received per window stay >= 90% of the ids due in that window (the offered rate) for 10 s; windows step by 100 ms',
  lateness:
    'first copy received by the observer minus the due time, for the ids due between this kill and the next (the last phase: until the end of the run); maxAfterAcceptMs counts from max(due, Kafka acknowledged the request)',
  lost: 'ids whose request Kafka acknowledged (acks=all) and of which no copy reached the target topic by the end of the drain',
  duplicates:
    'copies beyond the first of an id, counted by distinct partition offset (the observer re-reading after a broker restart is not a duplicate); per phase, duplicatesOfThisKill counts the ids whose first copy arrived from 1 s before this kill until 1 s before the next, duplicatesReceived the repeated copies that arrived during the phase (a claim visibility after their kill)',
  duplicateBound:
    'DELAY_QUEUE_BATCH_SIZE per dispatcher crash (the SIGKILLed service and any exit of its own)',
};

/** Reads the run's own Redis: the store's backlog, and the append-only file's state. */
export function storeProbe(url: string, prefix: string) {
  /** The unsharded keys and every shard's the layout names (one per requests partition). */
  const stores = async () => {
    const { counts } = await readShardLayout(redis, prefix);
    const shards = Math.max(0, ...counts);
    return [prefix, ...Array.from({ length: shards }, (_, shard) => shardPrefix(prefix, shard))].map((one) =>
      delayStoreKeys(one, 7 * 86_400_000),
    );
  };
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  return {
    /** INFO persistence fields that tell whether writes were waiting for the AOF (a kill loses those). */
    aof: async (): Promise<Record<string, string>> => {
      try {
        const text = await redis.info('persistence');
        const wanted = [
          'aof_pending_bio_fsync',
          'aof_buffer_length',
          'aof_delayed_fsync',
          'aof_last_write_status',
        ];
        return Object.fromEntries(
          text
            .split('\r\n')
            .map((line) => line.split(':') as [string, string])
            .filter(([name]) => wanted.includes(name)),
        );
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error) };
      }
    },
    /** Items the store still holds (pending, claimed, waiting replacements); -1 while Redis does not answer. */
    size: async (): Promise<number> => {
      try {
        const sizes = await Promise.all(
          (await stores()).flatMap((keys) => [
            redis.zcard(keys.pending),
            redis.zcard(keys.inFlight),
            redis.hlen(keys.replacements),
          ]),
        );
        return sizes.reduce((sum, size) => sum + size, 0);
      } catch {
        return -1;
      }
    },
    close: () => redis.disconnect(),
  };
}

export interface ReportInput {
  root: string;
  options: FaultOptions;
  ledger: Ledger;
  phases: PhaseTimes[];
  loadStartedAt: number;
  runEnd: number;
  loadStats: LoadStats;
  /** The wait for the last deliveries: how long, and what was still owed or stored when it ended. */
  drain: { ms: number; timedOut: boolean; owedIds: number; storeItems: number };
  versions: { kafka: string; redis: string };
  machineLoad: {
    before: number[];
    after: number[];
    during: Record<string, number | null>;
    /** CPU cores the harness itself used on average (load, observer, analysis). */
    harnessCpuCores: number;
  };
  service: {
    env: Record<string, string>;
    readiness: readonly ReadinessChange[];
    exits: readonly UnexpectedExit[];
    counters: { beforeKill: Record<string, number> | null; final: Record<string, number> | null };
    gracefulExitCode: number | null;
    log: unknown;
  };
  observerRestarts: number;
  targetTopic: string;
  payloadBytes: number;
}

const iso = (at: number): string | null => (at > 0 ? new Date(at).toISOString() : null);

export async function buildReport(input: ReportInput) {
  const { ledger, options } = input;
  const points = deliveryRatios(ledger, input.loadStartedAt, input.runEnd, DEFAULT_RECOVERY);
  const phases = input.phases.map((phase) => ({
    killedAtS: Math.round((phase.killAt - input.loadStartedAt) / 100) / 10,
    ...phaseResult(ledger, phase, points),
    ...(phase.beforeKill ? { readJustBeforeKill: phase.beforeKill } : {}),
    serviceReadiness: input.service.readiness
      .filter((c) => c.at >= phase.killAt && c.at < phase.endAt)
      .map((c) => ({
        afterKillMs: c.at - phase.killAt,
        state: c.state,
        ...(c.failing ? { failing: c.failing } : {}),
      })),
    serviceExitedByItself: input.service.exits
      .filter((e) => e.at >= phase.killAt && e.at < phase.endAt)
      .map((e) => ({
        afterKillMs: e.at - phase.killAt,
        code: e.code,
        signal: e.signal,
        lastLines: e.lastLines,
      })),
  }));
  const firstKill = input.phases[0]?.killAt ?? input.runEnd;
  const sums = totals(ledger);
  // The bound of what a crash may repeat: the claim size the service ran with (its default unless set).
  const batchSize = delayQueueConfigSchema.shape.DELAY_QUEUE_BATCH_SIZE.parse(
    input.service.env.DELAY_QUEUE_BATCH_SIZE,
  );
  const crashes = input.phases.filter((p) => p.fault === 'service').length + input.service.exits.length;
  const bound = batchSize * crashes;
  const resume = phases.map((p) => ({ fault: p.fault, ...p.targets }));
  return {
    name: 'delay-queue fault run',
    date: new Date(input.loadStartedAt).toISOString(),
    command: `pnpm fault:delay-queue${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: {
      ...machine(),
      loadAverageBefore: input.machineLoad.before,
      loadAverageAfter: input.machineLoad.after,
      duringRun: input.machineLoad.during,
      harnessCpuCores: input.machineLoad.harnessCpuCores,
    },
    versions: {
      node: process.version,
      kafka: input.versions.kafka,
      redis: input.versions.redis,
      java: await javaVersion(),
    },
    source: await sourceTree(input.root, ['services/delay-queue/src', 'packages']),
    parameters: {
      quick: options.quick,
      rate: options.rate,
      warmupSeconds: options.warmupSeconds,
      phaseSeconds: options.phaseSeconds,
      drainSecondsMax: options.drainSeconds,
      delayMs: [options.delayMinMs, options.delayMaxMs],
      payloadBytes: input.payloadBytes,
      faults: options.faults,
      targetTopic: `${input.targetTopic} (6 partitions)`,
      kafka: 'one KRaft node, PLAINTEXT, data in the run folder, restarted on the same data',
      redis: 'appendonly yes, appendfsync everysec, default RDB saves, restarted on the same folder',
      serviceEnv: input.service.env,
      recovery: DEFAULT_RECOVERY,
    },
    definitions: DEFINITIONS,
    verdict: {
      lost: sums.lost,
      duplicates: sums.duplicates,
      duplicateBound: bound,
      duplicatesWithinBound: sums.duplicates <= bound,
      promisesKept: sums.lost === 0 && sums.duplicates <= bound,
      resume,
      allResumeTargetsMet: resume.every((r) => r.firstDeliveryWithin10s && r.rateBackWithin10s),
    },
    baseline: {
      peakIntakePerSecond: peakRate(ledger.intakeTimes, input.loadStartedAt, firstKill),
      lateness: latenessOfDue(ledger, input.loadStartedAt, firstKill),
      minDeliveryRatio: minRatio(points, input.loadStartedAt + options.delayMaxMs + 1_000, firstKill),
      windowsAtOrAbove90Percent: shareAtOrAbove(
        points,
        input.loadStartedAt + options.delayMaxMs + 1_000,
        firstKill,
        DEFAULT_RECOVERY.threshold,
      ),
    },
    phases,
    totals: { ...sums, duplicateSample: duplicateSample(ledger, input.loadStartedAt) },
    timeline: {
      note: 'lateness (ms) of the ids due in each 5 s from the start of the load; phases[].killedAtS on the same clock',
      buckets: latenessTimeline(ledger, input.loadStartedAt, 5_000),
    },
    load: {
      ...input.loadStats,
      startedAt: iso(input.loadStats.startedAt),
      stoppedAt: iso(input.loadStats.stoppedAt),
      firstFailureAt: input.loadStats.firstFailureAt && iso(input.loadStats.firstFailureAt),
      lastFailureAt: input.loadStats.lastFailureAt && iso(input.loadStats.lastFailureAt),
      achievedRate: Math.round(
        (ledger.offered * 1000) / Math.max(1, input.loadStats.stoppedAt - input.loadStats.startedAt),
      ),
    },
    drain: input.drain,
    observer: { consumerRestarts: input.observerRestarts },
    service: {
      exitedByItself: input.service.exits.length,
      gracefulShutdownExitCode: input.service.gracefulExitCode,
      countersOfKilledProcess: input.service.counters.beforeKill,
      countersOfLastProcess: input.service.counters.final,
      warningsAndErrorsLogged: input.service.log,
    },
  };
}

export type Report = Awaited<ReturnType<typeof buildReport>>;

export function printSummary(report: Report): void {
  const line = (text: string) => process.stdout.write(`${text}\n`);
  const t = report.totals;
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? 'never' : `${v} ms`);
  line('\n=== delay-queue fault run ===');
  line(
    `offered ${t.offered}, accepted by Kafka ${t.acceptedByKafka}, delivered ${t.delivered}, lost ${t.lost}, duplicates ${t.duplicates} (bound ${report.verdict.duplicateBound})`,
  );
  const l = t.latenessEndToEndMs;
  line(`lateness overall: p50 ${l.p50} ms, p99 ${l.p99} ms, p99.9 ${l.p999} ms, max ${l.max} ms`);
  for (const p of report.phases) {
    line(
      `${p.fault.padEnd(8)} first delivery ${ms(p.firstDelivery.afterRestartMs)} after restart (${ms(p.firstDelivery.afterKillMs)} after kill); ` +
        `rate >= 90% ${ms(p.rateBackTo90Percent.afterRestartMs)} after restart (${ms(p.rateBackTo90Percent.afterKillMs)} after kill); ` +
        `max lateness ${ms(p.lateness.max)}; duplicates ${p.duplicatesOfThisKill}`,
    );
  }
  if (report.drain.timedOut) {
    line(
      `the drain ran out of time with ${report.drain.owedIds} ids owed and ${report.drain.storeItems} items in the store: lost may shrink with a longer --drain`,
    );
  }
  line(
    `promises ${report.verdict.promisesKept ? 'kept' : 'BROKEN'}; resume targets ${report.verdict.allResumeTargetsMet ? 'all met' : 'NOT all met'}`,
  );
}
