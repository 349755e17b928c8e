import { setTimeout as sleep } from 'node:timers/promises';
import { findWorkspaceRoot, loadAverage, watchLoad } from '@openpenpal/test-kit';
import { createApiClient } from '../client/api.ts';
import { createPlatform } from '../client/db.ts';
import { createKafkaSide, kafkaFromStackEnv } from '../client/kafka.ts';
import { startSystem, type System } from '../system.ts';
import { check, type CheckResult, type FaultPhase } from './check.ts';
import { createCronTasks } from './cron-tasks.ts';
import { ALL_TOPICS, gatherEvidence } from './evidence.ts';
import { createLedger, type Ledger } from './ledger.ts';
import { createLoad, DELAYED_TARGET_TOPIC } from './load.ts';
import { STACK_FAULTS, type Fault, type FaultRunOptions } from './options.ts';
import { endOffsets } from './read-topics.ts';
import { createStackParts, type StackPart } from './stack-parts.ts';

interface PhaseRecord extends FaultPhase {
  /** When the replacement was started (service) or `stack.sh up` began (stack part). */
  restartedAt: number;
  /** When every process of the system answered ready again; null when not before the next fault. */
  systemReadyAt: number | null;
}

export interface RunOutcome {
  ledger: Ledger;
  phases: PhaseRecord[];
  result: CheckResult;
  exits: { name: string; at: number; code: number | null; signal: string | null; lastLines: string[] }[];
  loadStats: Awaited<ReturnType<ReturnType<typeof createLoad>['stop']>>;
  drainMs: number;
  machineLoad: {
    before: number[];
    after: number[];
    during: ReturnType<ReturnType<typeof watchLoad>['stop']>;
  };
  stopped: { name: string; code: number | null; signal: string | null }[];
}

const CRON_SETTLE_MS = 10_000;

/** Waits until every process answers ready (after `from`); null when not within `timeoutMs`. */
async function waitAllReady(system: System, from: number, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const all = [...system.processes.values()];
    if (all.every((p) => p.running && p.readiness.at(-1)?.state === 'ready')) {
      return Math.max(from, ...all.map((p) => p.readiness.at(-1)?.at ?? from));
    }
    await sleep(200);
  }
  return null;
}

/**
 * The system fault run: the whole system as separate processes on the checkout's own stack, a
 * steady load of inbound events and cron tasks, one fault after another (SIGKILL and restart of a
 * service, or a stack part taken away and brought back), then a drain and the checker.
 */
export async function runFaultSuite(
  options: FaultRunOptions,
  say: (line: string) => void,
): Promise<RunOutcome> {
  const root = findWorkspaceRoot();
  const loadBefore = loadAverage();
  const machine$ = watchLoad();
  const system = await startSystem({
    say,
    logLevel: 'warn',
    restartOnExit: true,
    serviceEnv: { 'delay-queue': { DELAY_QUEUE_EXTRA_TOPICS: DELAYED_TARGET_TOPIC } },
  });
  const env = system.info.stackEnv;
  const stack = createStackParts(root, {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...(process.env.STACK_DIR ? { STACK_DIR: process.env.STACK_DIR } : {}),
    ...(process.env.CACHE_DIR ? { CACHE_DIR: process.env.CACHE_DIR } : {}),
  });
  const kafka = kafkaFromStackEnv(env, 'e2e-faults');
  const side = createKafkaSide(env);
  const platform = createPlatform(env.DATABASE_URL ?? '', env.PG_DOMAIN_SCHEMA ?? 'openpenpal');
  const api = createApiClient(system.info.apiUrl, env.API_JWT_SECRET ?? '');
  // The services run in process groups of their own: a Ctrl-C of the harness must end them too.
  const bail = (signal: string) => {
    say(`${signal}: stopping every process and bringing the stack back up`);
    void system
      .stop()
      .then(() => stack.restore())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', () => bail('SIGINT'));
  process.once('SIGTERM', () => bail('SIGTERM'));
  process.once('uncaughtException', (error) => {
    process.stderr.write(`uncaught: ${error.stack ?? error.message}\n`);
    bail('uncaught exception');
  });
  try {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: DELAYED_TARGET_TOPIC, numPartitions: 6 }],
    });
    await admin.disconnect();
    const from = await endOffsets(kafka, ALL_TOPICS);
    const ledger = createLedger(`f${Date.now().toString(36)}`);
    await createCronTasks(api, ledger, options.cronTasks);
    const load = createLoad({
      ledger,
      platform,
      kafka: side,
      rate: options.rate,
      delayMinMs: options.delayMinMs,
      delayMaxMs: options.delayMaxMs,
    });
    load.start();
    say(
      `load: ${options.rate} inbound events/s and ${ledger.cronTasks.length} cron tasks (run ${ledger.runId})`,
    );
    const status = setInterval(() => {
      const accepted = ledger.items.filter((i) => i.acceptedAt > 0).length;
      say(`offered ${ledger.items.length}, accepted ${accepted}`);
    }, 15_000);
    await sleep(options.warmupSeconds * 1000);

    const phases: PhaseRecord[] = [];
    for (const fault of options.faults) {
      const phase = await inject(fault, system, stack);
      // Each phase lasts --phase seconds after the thing is back (a Kafka restart alone can take a minute).
      const phaseEnd = Math.max(phase.killAt, phase.readyAt ?? Date.now()) + options.phaseSeconds * 1000;
      phases.push(phase);
      say(
        `${fault}: ${STACK_FAULTS.includes(fault) ? 'stopped' : 'SIGKILLed'}, back after ${
          phase.readyAt === null ? '(never)' : `${phase.readyAt - phase.killAt} ms`
        }`,
      );
      const all = await waitAllReady(system, phase.restartedAt, Math.max(0, phaseEnd - Date.now()));
      phase.systemReadyAt = all;
      await sleep(Math.max(0, phaseEnd - Date.now()));
    }
    phases.forEach((phase, i) => (phase.endAt = phases[i + 1]?.killAt ?? Date.now()));

    const loadStats = await load.stop(Date.now() + 120_000);
    clearInterval(status);
    const lastDue = Math.max(...ledger.items.map((i) => i.dueAt));
    // Items offered before the stop are due up to a few seconds later: they belong to the last phase.
    const lastPhase = phases.at(-1);
    if (lastPhase) lastPhase.endAt = Math.max(lastPhase.endAt, lastDue + 1);
    say(
      `load stopped: ${ledger.items.length} items offered; draining (last due ${Math.round((lastDue - Date.now()) / 1000)} s from now)`,
    );
    const drainStart = Date.now();
    const drainDeadline = drainStart + options.drainSeconds * 1000;
    // Effects of the last items go through a relay or two after their due time: look once they had a moment.
    await sleep(Math.max(0, lastDue + 10_000 - Date.now()));
    let result: CheckResult;
    for (let round = 1; ; round += 1) {
      const gatherStart = Date.now();
      const timings: Record<string, number> = {};
      const evidence = await gatherEvidence({
        kafka,
        platform,
        ledger,
        from,
        domainSchema: env.PG_DOMAIN_SCHEMA ?? 'openpenpal',
        timings,
      });
      result = check(ledger, evidence, phases, { onTimeMs: options.onTimeMs, cronSettleMs: CRON_SETTLE_MS });
      say(
        `check ${round} (read in ${Date.now() - gatherStart} ms): lost ${result.verdict.lost}, effects twice ${result.verdict.duplicatedEffects}, events missing from the store ${result.verdict.eventsMissingFromStore}; ms ${JSON.stringify(timings)}`,
      );
      // A slow read on a loaded machine can use up the drain: a second look is always taken.
      if (result.verdict.promisesKept || (Date.now() > drainDeadline && round >= 2)) break;
      await sleep(5_000);
    }
    const drainMs = Date.now() - drainStart;
    for (const task of ledger.cronTasks) {
      await api.request('DELETE', `/api/v1/scheduler/tasks/${task.taskId}?reason=e2e%20faults%20done`);
    }
    const exits = [...system.processes.values()].flatMap((proc) =>
      proc.exits.filter((e) => !e.expected).map((e) => ({ name: proc.name, ...e })),
    );
    const stopped = await system.stop();
    return {
      ledger,
      phases,
      result,
      exits,
      loadStats,
      drainMs,
      machineLoad: { before: loadBefore, after: loadAverage(), during: machine$.stop() },
      stopped,
    };
  } finally {
    await system.stop();
    // A run that failed in the middle of a fault leaves the stack as it found it.
    await stack.restore().catch((error: unknown) => say(`stack.sh up failed: ${String(error)}`));
    await side.close().catch(() => undefined);
    await platform.close().catch(() => undefined);
  }
}

async function inject(
  fault: Fault,
  system: System,
  stack: ReturnType<typeof createStackParts>,
): Promise<PhaseRecord> {
  if (STACK_FAULTS.includes(fault)) {
    const part = fault as StackPart;
    const killAt = Date.now();
    await stack.stop(part);
    const restartedAt = Date.now();
    const readyAt = await stack.start(part);
    return { fault, killAt, restartedAt, readyAt, endAt: 0, systemReadyAt: null };
  }
  const proc = system.process(fault);
  const killAt = Date.now();
  await proc.kill();
  const restartedAt = proc.start();
  const readyAt = await proc.waitReady(120_000).catch(() => null);
  return { fault, killAt, restartedAt, readyAt, endAt: 0, systemReadyAt: null };
}
