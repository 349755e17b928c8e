/**
 * `pnpm fault:cluster [--quick]`: on a running cluster profile (STACK_PROFILE=cluster pnpm
 * stack:up), two instances of every service under a steady load of delayed messages and cron
 * tasks firing every second; SIGKILL a Kafka broker, then a Redis primary (its replica is
 * promoted), then one instance of each service, each started again after a while; drain; then the
 * checker (src/check.ts) and the recovery per fault (src/recovery.ts). Writes a JSON report.
 * Exit 0: every promise kept; 1: one broken; 2: the run itself failed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createContracts, topicSpec, triggerTopicName } from '@openpenpal/contracts';
import { createKafkaClient, createProducer } from '@openpenpal/messaging';
import { findWorkspaceRoot } from '@openpenpal/test-kit';
import type { Admin } from 'kafkajs';
import { pino } from 'pino';
import { checkRun, nominalTimes } from '../check.ts';
import { openClusterStack } from '../cluster.ts';
import { EFFECT_KINDS, effectsBroken, effectsReport, effectsSummary, prepareEffects } from '../effects.ts';
import { killBroker, killOneOfEach, killRedisPrimary } from '../faults.ts';
import { createDelayedLoad, everySecondTask } from '../load.ts';
import { observe } from '../observer.ts';
import { parseOptions, USAGE, type RunOptions } from '../options.ts';
import type { CronPlan, FaultPhase } from '../records.ts';
import { phaseRecovery, type Item } from '../recovery.ts';
import { startReplicas } from '../replicas.ts';
import { machine, printSummary, serverVersions } from '../report.ts';
import { acquisitionsFromLogs, recordedExecutions, storedToken } from '../tokens.ts';

const root = findWorkspaceRoot();
const began = Date.now();
const TASK_TYPE = 'daily_report';
const say = (line: string): void => {
  process.stdout.write(`[cluster +${((Date.now() - began) / 1000).toFixed(1)}s] ${line}\n`);
};
const exec = promisify(execFile);
/** What to stop when the run fails or is interrupted: the service processes run in process groups of their own. */
const cleanups: (() => Promise<unknown>)[] = [];
const cleanUp = async () => {
  for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
};

/** Creates the target topic (three replicas, two in sync); waiting for its leaders races on a fresh cluster, so it is asked again. */
async function ensureTopic(admin: Admin, topic: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: 6,
            replicationFactor: 3,
            configEntries: [{ name: 'min.insync.replicas', value: '2' }],
          },
        ],
      });
      await admin.fetchTopicMetadata({ topics: [topic] });
      return;
    } catch (error) {
      if (attempt >= 20) throw error;
      await sleep(500);
    }
  }
}

async function delayShardKeys(admin: Admin): Promise<string[]> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topicSpec('scheduler.delay-requests').name] });
  const partitions = metadata.topics[0]?.partitions.length ?? 0;
  return Array.from({ length: partitions }, (_, shard) => `{openpenpal:delay-queue:s${shard}}:due`);
}

async function run(options: RunOptions): Promise<number> {
  const stack = openClusterStack(root, options.stackDir);
  say(
    `cluster profile ${stack.dir}: brokers ${stack.brokers.join(',')}, ${stack.redisNodes.length} Redis nodes`,
  );
  await stack.up();
  const runId = `cp${Date.now().toString(36)}`;
  // A topic per run (the delay queue allows the prefix), deleted at the end.
  const targetTopic = `cluster-proof.${runId}`;
  const logDir = join(root, '.cache', 'cluster-proof', runId);
  mkdirSync(logDir, { recursive: true });
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...stack.env };
  await exec(process.execPath, ['packages/service-kit/src/bin/provision-topics.ts'], { cwd: root, env });
  if (options.services.some((s) => s.startsWith('handler-'))) {
    await exec(process.execPath, ['packages/domain/src/bin/migrate.ts'], {
      cwd: root,
      env: { ...env, DOMAIN_DB_SCHEMA: stack.env.PG_DOMAIN_SCHEMA ?? 'openpenpal' },
    });
  }

  const logger = pino(
    { level: 'warn' },
    pino.destination({ dest: join(logDir, 'harness.log'), sync: false }),
  );
  const kafka = createKafkaClient({
    brokers: stack.brokers,
    clientId: `cluster-proof-${runId}`,
    logger,
    config: { retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 30 } },
  });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, targetTopic);

  const replicas = await startReplicas({
    root,
    logDir,
    stackEnv: stack.env,
    services: options.services,
    instances: options.instances,
    basePort: options.basePort,
    settings: {
      ticker: { TICKER_LEASE_TOKENS: 'postgres' },
      'delay-queue': { DELAY_QUEUE_EXTRA_TOPICS: 'cluster-proof.*' },
      // As in the e2e fault run: a failed execution is retried within seconds, not after 30 s.
      ...Object.fromEntries(
        options.services
          .filter((name) => name.startsWith('handler-'))
          .map((name) => [
            name,
            { HANDLER_RETRY_INITIAL_DELAY_MS: '500', HANDLER_RETRY_MAX_DELAY_MS: '1000' },
          ]),
      ),
    },
  });
  say(
    `starting ${replicas.processes.size} processes (${options.instances} of each of ${options.services.join(', ')}); logs in ${logDir}`,
  );
  let stoppedAll: ReturnType<typeof replicas.stopAll> | undefined;
  const stopAll = () => (stoppedAll ??= replicas.stopAll(30_000));
  cleanups.push(stopAll);
  say(`every process ready after ${await replicas.startAll(240_000)} ms`);

  const contracts = createContracts();
  const taskIds = Array.from({ length: options.tasks }, (_, i) => `${runId}-task-${i}`);
  const observer = await observe({
    kafka,
    contracts,
    topics: {
      target: targetTopic,
      triggers: triggerTopicName(TASK_TYPE),
      events: topicSpec('scheduler.execution-events').name,
    },
    ours: (taskId) => taskId.startsWith(`${runId}-task-`),
  });
  cleanups.push(() => observer.close());
  const producer = createProducer({ kafka, contracts, logger });
  await producer.connect();
  const definitions = topicSpec('scheduler.task-definitions').name;
  const defineTasks = async (active: boolean, revision: number) => {
    const now = Date.now();
    await producer.send(
      { topic: definitions, schema: 'TaskDefinition' },
      taskIds.map((id) => ({ key: id, value: everySecondTask(id, now, active, revision) })),
    );
  };
  await defineTasks(true, 1);
  // The inbound load whose effects the e2e checker proves (src/effects.ts); not in --quick.
  const effects =
    options.inboundRate > 0
      ? await prepareEffects({
          stackEnv: stack.env,
          apiUrls: replicas.instancesOf('api').map((p) => p.url),
          runId,
          rate: options.inboundRate,
          onTimeMs: options.thresholdMs,
          say,
        })
      : null;
  if (effects) cleanups.push(() => effects.close());
  const load = createDelayedLoad({
    producer,
    runId,
    requestsTopic: topicSpec('scheduler.delay-requests').name,
    targetTopic: targetTopic,
    rate: options.rate,
    delayMinMs: options.delayMinMs,
    delayMaxMs: options.delayMaxMs,
  });
  load.start();
  effects?.start();
  const loadStartedAt = Date.now();
  say(
    `load: ${options.rate} delayed messages/s due 1-5 s later, ${options.tasks} cron tasks every second` +
      (effects ? `, ${options.inboundRate} inbound events/s (${EFFECT_KINDS.join(', ')})` : ''),
  );
  const status = setInterval(() => {
    say(
      `offered ${load.offers.length}, delayed copies ${observer.delayedCopies().length}, triggers ${observer.triggerCopies().length}` +
        (effects ? `, inbound offered ${effects.ledger.items.length}` : ''),
    );
  }, 15_000);

  const phases: FaultPhase[] = [];
  const downMs = options.downSeconds * 1000;
  const nextAt = (from: number) => sleep(Math.max(0, from + options.phaseSeconds * 1000 - Date.now()));
  await sleep(options.warmupSeconds * 1000);
  const broker = await killBroker({
    stack,
    admin,
    topic: topicSpec('scheduler.delay-requests').name,
    downMs,
    say,
  });
  await nextAt(broker.killAt);
  const redis = await killRedisPrimary({
    stack,
    key: '{openpenpal:ticker}:lease',
    // The delay store's shards (one per request partition, a hash tag each): which ones the primary served.
    otherKeys: await delayShardKeys(admin),
    downMs,
    say,
  });
  await nextAt(redis.killAt);
  const instances = await killOneOfEach({ replicas, services: options.services, downMs, say });
  await nextAt(instances.killAt);
  const started = [broker, redis, instances];

  const [loadStats, effectsLoad] = await Promise.all([
    load.stop(Date.now() + 60_000),
    effects?.stop(Date.now() + 60_000),
  ]);
  const loadStoppedAt = Date.now();
  started.forEach((phase, i) => phases.push({ ...phase, endAt: started[i + 1]?.killAt ?? loadStoppedAt }));
  const lastNominal = Math.floor(loadStoppedAt / 1000) * 1000;
  say(`load stopped: ${load.offers.length} delayed messages offered (${loadStats.unsent} unsent); draining`);

  const firstNominal = new Map<string, number>();
  const plansNow = (): CronPlan[] => {
    for (const copy of observer.triggerCopies()) {
      const known = firstNominal.get(copy.taskId);
      if (known === undefined || copy.nominalTime < known) firstNominal.set(copy.taskId, copy.nominalTime);
    }
    return taskIds.map((taskId) => ({
      taskId,
      from: firstNominal.get(taskId) ?? Math.ceil(loadStartedAt / 1000) * 1000,
      to: lastNominal,
      periodMs: 1_000,
    }));
  };
  const drainUntil = Date.now() + options.drainSeconds * 1000;
  for (;;) {
    const check = checkRun({
      offers: load.offers,
      delayedCopies: observer.delayedCopies(),
      plans: plansNow(),
      triggerCopies: observer.triggerCopies(),
      acquisitions: [],
      storedToken: null,
      phases,
    });
    if ((check.delayed.lost === 0 && check.triggers.missed === 0) || Date.now() > drainUntil) break;
    await sleep(500);
  }
  const drainedAfterMs = Date.now() - loadStoppedAt;
  // Repeats of a claim a kill left unacknowledged arrive one visibility (30 s) after it.
  await sleep(Math.max(3_000, instances.killAt + 35_000 - Date.now()));
  clearInterval(status);
  await defineTasks(false, 2);
  await sleep(2_000);
  // The recorder's read model is eventually consistent: give it up to 30 s to show every execution.
  let recorded: string[] | null = null;
  if (options.services.includes('recorder')) {
    const executions = new Set(observer.triggerCopies().map((t) => t.executionId));
    const until = Date.now() + 30_000;
    for (;;) {
      recorded = await recordedExecutions(stack.env.DATABASE_URL ?? '', 'recorder', `${runId}-task-`);
      const have = new Set(recorded);
      if ([...executions].every((id) => have.has(id)) || Date.now() > until) break;
      await sleep(1_000);
    }
  }

  // The handlers' and the notifier's effects, by the e2e checker; every process still runs.
  const effectsCheck = effects
    ? await effects.settle(phases, Math.max(loadStoppedAt + 180_000, Date.now() + 30_000))
    : null;
  await effects?.removeCronTasks();

  const stopped = await stopAll();
  const executionEvents = observer.executionEvents();
  await observer.close();
  await producer.close().catch(() => undefined);
  await admin.deleteTopics({ topics: [targetTopic] }).catch(() => undefined);
  await admin.disconnect();
  const tickers = [...replicas.processes.keys()].filter((name) => name.startsWith('ticker-'));
  const acquisitions = acquisitionsFromLogs(logDir, tickers);
  const observations = {
    offers: load.offers,
    delayedCopies: observer.delayedCopies(),
    plans: plansNow(),
    triggerCopies: observer.triggerCopies(),
    acquisitions,
    storedToken: await storedToken(stack.env.TICKER_DATABASE_URL ?? stack.env.DATABASE_URL ?? ''),
    recordedExecutions: recorded,
    phases,
  };
  const check = checkRun(observations);
  const broken = [...check.broken, ...(effectsCheck ? effectsBroken(effectsCheck.result) : [])];
  const verdict = { ok: broken.length === 0, broken };
  // Recovery is the services': measured by when they wrote each first copy (its record time), so
  // the run's own consumer catching up after a broker loss does not count against them.
  const earliest = (map: Map<string, number>, key: string, at: number) =>
    map.set(key, Math.min(map.get(key) ?? at, at));
  const firstCopy = new Map<string, number>();
  for (const copy of observations.delayedCopies) earliest(firstCopy, copy.key, copy.publishedAt);
  const firstTrigger = new Map<string, number>();
  for (const copy of observations.triggerCopies)
    earliest(firstTrigger, `${copy.taskId}@${copy.nominalTime}`, copy.publishedAt);
  const streams: { delayed: Item[]; triggers: Item[] } = {
    delayed: load.offers
      .filter((o) => o.acceptedAt !== null)
      .map((o) => ({ dueAt: o.dueAt, receivedAt: firstCopy.get(o.id) ?? null })),
    triggers: observations.plans.flatMap((plan) =>
      nominalTimes(plan).map((t) => ({
        dueAt: t,
        receivedAt: firstTrigger.get(`${plan.taskId}@${t}`) ?? null,
      })),
    ),
  };
  const recoveries = phases.map((phase) => phaseRecovery(phase, streams, options.thresholdMs));
  const baseline = phaseRecovery(
    {
      name: 'before the first fault',
      kind: 'kafka-broker',
      target: '-',
      killAt: loadStartedAt + 5_000,
      restartedAt: null,
      endAt: broker.killAt,
    },
    streams,
    options.thresholdMs,
  );

  const report = {
    what: 'pnpm fault:cluster: two instances of every service on the cluster profile; a Kafka broker, a Redis primary and one instance of each service SIGKILLed in turn under load',
    command: `pnpm fault:cluster ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date(began).toISOString(),
    machine: machine(root),
    versions: serverVersions(join(root, '.cache', 'kafka-4.4.0')),
    options,
    runId,
    verdict,
    check: {
      ...check,
      triggers: { ...check.triggers, executionEvents },
    },
    recovery: recoveries,
    // The e2e fault run's checker over the inbound load (src/effects.ts).
    effects: effects && effectsCheck ? effectsReport(effects.ledger, effectsCheck, effectsLoad) : null,
    // Record time minus due, from 5 s after the load began to the first kill.
    baselineBeforeFaults: {
      delayedPublishLatenessMs: baseline.delayed.latenessInPhaseMs,
      cronPublishLatenessMs: baseline.triggers.latenessInPhaseMs,
    },
    drain: { afterLoadStopMs: drainedAfterMs, load: loadStats },
    processes: [...replicas.processes.values()].map((p) => ({
      name: p.name,
      exits: p.exits.map((e) => ({
        at: new Date(e.at).toISOString(),
        code: e.code,
        signal: e.signal,
        expected: e.expected,
      })),
      // Every readiness change while the load ran (down: not answering, not_ready: 503 with the failing checks).
      readiness: p.readiness
        .filter((r) => r.at >= loadStartedAt && r.at <= loadStoppedAt)
        .map((r) => ({
          at: new Date(r.at).toISOString(),
          state: r.state,
          ...(r.failing ? { failing: r.failing } : {}),
        })),
    })),
    gracefulStops: stopped,
    logDir,
  };
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  printSummary(
    say,
    { ...check, ...verdict },
    recoveries,
    options.thresholdMs,
    effectsCheck ? effectsSummary(effectsCheck.result) : [],
  );
  say(`report written to ${options.out}; run took ${Math.round((Date.now() - began) / 1000)} s`);
  stack.close();
  return verdict.ok ? 0 : 1;
}

let options: RunOptions;
try {
  options = parseOptions(process.argv.slice(2), root);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  if (!(error instanceof Error && error.message === USAGE)) process.stderr.write(`\n${USAGE}\n`);
  process.exit(2);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping the run's processes`);
    void cleanUp().finally(() => process.exit(130));
  });
}
let code = 2;
try {
  code = await run(options);
} catch (error) {
  process.stderr.write(
    `cluster fault run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
}
await cleanUp();
process.exit(code);
