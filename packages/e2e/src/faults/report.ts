import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { sourceTree } from '@openpenpal/test-kit';
import { javaVersion, machine } from '@openpenpal/test-kit';
import type { CheckResult } from './check.ts';
import type { ItemKind } from './ledger.ts';
import type { FaultRunOptions } from './options.ts';
import type { RunOutcome } from './run.ts';

const run = promisify(execFile);

async function redisVersion(): Promise<string> {
  const { stdout } = await run('redis-server', ['--version']).catch(() => ({ stdout: 'unknown' }));
  return /v=([\d.]+)/.exec(stdout)?.[1] ?? stdout.trim();
}

async function postgresVersion(): Promise<string> {
  const { stdout } = await run('psql', ['--version']).catch(() => ({ stdout: 'unknown' }));
  return stdout.trim();
}

/** The JSON the run writes under docs/benchmarks/: figures, the machine, versions, the command. */
export async function buildReport(
  source: Awaited<ReturnType<typeof sourceTree>>,
  options: FaultRunOptions,
  argv: readonly string[],
  outcome: RunOutcome,
) {
  const { ledger, result } = outcome;
  const origin = ledger.loadStartedAt;
  return {
    what: 'the whole system under a steady load of inbound events and cron tasks, one fault after another; the checker reads the topics, the event store and the database',
    command: `node packages/e2e/src/bin/faults.ts ${argv.join(' ')}`.trim(),
    ranAt: new Date(origin).toISOString(),
    machine: {
      ...machine(),
      loadAverageBefore: outcome.machineLoad.before,
      loadAverageAfter: outcome.machineLoad.after,
      duringRun: outcome.machineLoad.during,
    },
    versions: {
      node: process.version,
      kafka: process.env.KAFKA_VERSION ?? '4.4.0',
      java: await javaVersion(),
      redis: await redisVersion(),
      postgres: await postgresVersion(),
    },
    // Read before the run: services restarted during it load what the tree held then.
    source,
    settings: options,
    load: {
      seconds: Math.round((ledger.loadStoppedAt - origin) / 1000),
      itemsOffered: ledger.items.length,
      cronTasks: ledger.cronTasks.map((t) => ({ taskId: t.taskId, cron: t.cron })),
      ...outcome.loadStats,
    },
    phases: outcome.phases.map((p) => ({
      fault: p.fault,
      atSecond: Math.round((p.killAt - origin) / 1000),
      restartedAfterMs: p.restartedAt - p.killAt,
      systemReadyAfterMs: p.systemReadyAt === null ? null : p.systemReadyAt - p.killAt,
      ...result.phases.find((r) => r.killedAt === new Date(p.killAt).toISOString()),
    })),
    executions: result.executions,
    delayed: result.delayed,
    events: result.events,
    schedulingLatencyMs: result.schedulingLatencyMs,
    delayedLatenessMs: result.delayedLatenessMs,
    drainMs: outcome.drainMs,
    exitsOfTheirOwn: outcome.exits.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
    stopped: outcome.stopped,
    problems: result.problems,
    verdict: result.verdict,
    definitions: {
      lateness:
        'handler start (recorder.executions.started_at) minus the later of the due time and Kafka acknowledging the inbound event; for a delayed message, the CreateTime of its first copy on the target topic minus the same',
      during: 'items due from the kill until the process or server was back (ready)',
      after: 'items due from then until the next fault',
      recoveredAfterMs:
        'from the kill to the first due time from which every item due until the next fault was at most --on-time late',
      schedulingLatency:
        'nominal fire time (cron) or due time (exact-time trigger) to handler start; outsideFaults leaves out items due from a kill until its recovery',
      duplicatedButSuppressed:
        'attempt-1 triggers published more than once whose execution ran once, plus announcements published more than once with one message-id',
    },
  };
}

export type Report = Awaited<ReturnType<typeof buildReport>>;

const f = (value: number | null | undefined): string =>
  value === null || value === undefined ? '—' : String(value);

/**
 * The checker's counts as lines: executions, cron, each kind of item (`kinds`: which; every kind
 * and the delayed messages' line by default), the events and notifications.
 */
export function effectLines(
  result: Pick<CheckResult, 'executions' | 'delayed' | 'events'>,
  kinds?: readonly ItemKind[],
): string[] {
  const e = result.executions;
  const lines = [
    `executions expected ${e.expected}, done ${e.done}, duplicated effects ${e.duplicatedEffects}, duplicated but suppressed ${e.duplicatedButSuppressed}`,
    `  cron nominal times ${e.cron.expected}, fired and run ${e.cron.done}, triggered twice but run once ${e.cron.triggeredTwiceRunOnce}`,
  ];
  for (const [kind, k] of Object.entries(e.items)) {
    if (kinds && !kinds.includes(kind as ItemKind)) continue;
    lines.push(
      `  ${kind}: expected ${k.expected}, done ${k.done}, lost ${k.lost}, effect twice ${k.duplicatedEffects}, raw duplicates ${k.rawDuplicates}, never accepted ${k.notAccepted}`,
    );
  }
  const d = result.delayed;
  if (!kinds || kinds.includes('delayed'))
    lines.push(
      `delayed messages scheduled ${d.scheduled}, delivered ${d.delivered}, lost ${d.lost}; raw duplicates ${d.rawDuplicates}, after dedup by message-id ${d.duplicatesAfterDedup}`,
    );
  const ev = result.events;
  lines.push(
    `events on the topics ${ev.onTopics} (raw duplicates ${ev.rawDuplicatesOnTopics}): missing from the store ${ev.missingFromStore}, in it twice ${ev.inStoreMoreThanOnce}; notifications delivered ${ev.notificationsDelivered}, twice on a channel ${ev.notificationsDeliveredTwiceOnAChannel}`,
  );
  return lines;
}

export function printSummary(report: Report, write: (line: string) => void): void {
  write('');
  write(
    `System fault run: ${report.load.seconds} s of load, ${report.load.itemsOffered} inbound items, ${report.load.cronTasks.length} cron tasks`,
  );
  for (const line of effectLines(report)) write(line);
  write('fault                   back after  all ready  max late during  max late after  recovered after');
  for (const p of report.phases) {
    write(
      `${p.fault.padEnd(24)}${f(p.backAfterMs).padStart(10)}${f(p.systemReadyAfterMs).padStart(11)}${f(p.maxLatenessDuringMs).padStart(17)}${f(p.maxLatenessAfterMs).padStart(16)}${f(p.recoveredAfterMs).padStart(17)}  ms`,
    );
  }
  const l = report.schedulingLatencyMs;
  write(
    `scheduling latency (nominal → handler start), outside faults: p50 ${f(l.outsideFaults.p50)} p99 ${f(l.outsideFaults.p99)} max ${f(l.outsideFaults.max)} ms (n ${l.outsideFaults.count}); before the first fault p50 ${f(l.beforeFaults.p50)} p99 ${f(l.beforeFaults.p99)}; all p50 ${f(l.all.p50)} p99 ${f(l.all.p99)} max ${f(l.all.max)}`,
  );
  const dl = report.delayedLatenessMs;
  write(
    `delayed message lateness outside faults: p50 ${f(dl.outsideFaults.p50)} p99 ${f(dl.outsideFaults.p99)} ms; all p99 ${f(dl.all.p99)} max ${f(dl.all.max)}`,
  );
  if (report.exitsOfTheirOwn.length > 0) {
    write(
      `processes that exited by themselves (restarted by the supervisor): ${report.exitsOfTheirOwn.map((x) => `${x.name} ${x.code ?? x.signal} at ${x.at}`).join('; ')}`,
    );
  }
  for (const problem of report.problems.slice(0, 20)) write(`  problem: ${problem}`);
  write(
    report.verdict.promisesKept
      ? 'VERDICT: nothing lost, nothing done twice, every event in the store once'
      : `VERDICT: BROKEN ${JSON.stringify(report.verdict)}`,
  );
}
