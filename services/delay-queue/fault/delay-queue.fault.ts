/**
 * The delay queue's fault run: `pnpm fault:delay-queue [--quick] [options]` (see ./options.ts and
 * docs/reliability.md). On a Kafka broker and a redis-server of its own (never the shared stack),
 * it runs the delay queue as its own process under a steady stream of schedule requests, SIGKILLs
 * the service, then redis-server, then the broker, restarting each at once, and measures per fault
 * how long deliveries took to resume and how late they were; at the end it checks that every id
 * Kafka accepted was delivered at least once. Writes a JSON report (docs/benchmarks/fault-delay-queue.json).
 *
 * Exit code 0: nothing lost and duplicates within the documented bound; 1: a promise broken;
 * 2: the run itself failed (it cleans up either way, also on Ctrl-C).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createContracts, topicSpec } from '@openpenpal/contracts';
import { createKafkaClient, createProducer } from '@openpenpal/messaging';
import { loadAverage, watchLoad } from '@openpenpal/test-kit';
import { pino } from 'pino';
import { createDelayQueueProcess } from './service-process.ts';
import { createLedger } from './ledger.ts';
import { createLoad } from './load.ts';
import { observe } from './observer.ts';
import { USAGE, parseOptions, type FaultOptions } from './options.ts';
import { createOwnKafka } from './own-kafka.ts';
import { createOwnRedis } from './own-redis.ts';
import { buildReport, printSummary, storeProbe } from './report.ts';
import { createRunFolder, reapStaleRuns, type RunFolder } from './run-folder.ts';
import type { PhaseTimes } from './analysis.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TARGET_TOPIC = 'fault.delay-queue.target';
const KEY_PREFIX = 'fault:delay-queue';
const PAYLOAD_BYTES = 200;
const began = Date.now();

// Progress goes to stdout as plain writes: the repository's lint keeps console calls out of tools.
const say = (message: string): void => {
  process.stdout.write(`[fault +${((Date.now() - began) / 1000).toFixed(1)}s] ${message}\n`);
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

const harnessCores = (used: NodeJS.CpuUsage, wallMs: number): number =>
  Math.round(((used.user + used.system) / 1000 / Math.max(1, wallMs)) * 100) / 100;

async function run(options: FaultOptions, folder: RunFolder): Promise<number> {
  const loadBefore = loadAverage();
  const load$ = watchLoad();
  const cpuBefore = process.cpuUsage();
  const wallBefore = Date.now();
  let broken: string | undefined;
  const [redisPort, kafkaPort, controllerPort, httpPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const redis = await createOwnRedis({ folder, port: redisPort });
  redis.onUnexpectedExit((why) => (broken = why));
  await redis.start();
  say(`redis-server ${redis.version} on ${redis.url}`);
  const kafka = await createOwnKafka({ root: ROOT, folder, port: kafkaPort, controllerPort });
  kafka.onUnexpectedExit((why) => (broken = why));
  await kafka.start();
  say(`Kafka ${kafka.version} (KRaft) on ${kafka.brokers.join(',')}, data in ${folder.dir}`);

  const logger = pino(
    { level: 'warn' },
    pino.destination({ dest: join(folder.dir, 'harness.log'), sync: false }),
  );
  // The harness retries at least every second, so after an outage it is never what holds deliveries back.
  const client = createKafkaClient({
    brokers: kafka.brokers,
    clientId: 'fault-run',
    logger,
    config: { retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 30 } },
  });
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: TARGET_TOPIC, numPartitions: 6, replicationFactor: 1 }],
  });
  await admin.disconnect();

  const serviceEnv: Record<string, string> = {
    KAFKA_BROKERS: kafka.brokers.join(','),
    KAFKA_GROUP_ID: 'fault-delay-queue',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: KEY_PREFIX,
    HTTP_PORT: String(httpPort),
    LOG_LEVEL: 'info',
    DELAY_QUEUE_EXTRA_TOPICS: TARGET_TOPIC,
    OTEL_SDK_DISABLED: 'true',
    ...options.serviceEnv,
  };
  const service = createDelayQueueProcess({ folder, env: serviceEnv, httpPort });
  service.start();
  await service.waitReady(120_000);
  say(`delay queue ready (${service.url})`);

  const runId = `f${Date.now().toString(36)}`;
  const ledger = createLedger(runId);
  const contracts = createContracts();
  const observer = observe({
    kafka: client,
    contracts,
    ledger,
    targetTopic: TARGET_TOPIC,
    eventsTopic: topicSpec('scheduler.delay-events').name,
    runId,
  });
  await observer.started;
  const producer = createProducer({ kafka: client, contracts, logger });
  await producer.connect();
  const load = createLoad({
    producer,
    ledger,
    requestsTopic: topicSpec('scheduler.delay-requests').name,
    targetTopic: TARGET_TOPIC,
    rate: options.rate,
    delayMinMs: options.delayMinMs,
    delayMaxMs: options.delayMaxMs,
    payloadBytes: PAYLOAD_BYTES,
  });
  load.start();
  const loadStartedAt = Date.now();
  say(`load: ${options.rate} requests/s, due ${options.delayMinMs}-${options.delayMaxMs} ms later`);
  const status = setInterval(() => {
    const delivered = ledger.firstReceivedAt.filter((t) => t > 0).length;
    const accepted = ledger.acceptedAt.filter((t) => t > 0).length;
    say(
      `offered ${ledger.offered}, accepted ${accepted}, delivered ${delivered}, copies ${ledger.copyLog.length}`,
    );
  }, 15_000);

  const pause = async (until: number): Promise<void> => {
    await sleep(Math.max(0, until - Date.now()));
    if (broken) throw new Error(broken);
  };
  await pause(loadStartedAt + options.warmupSeconds * 1000);

  const probe = storeProbe(redis.url, KEY_PREFIX);
  const phases: PhaseTimes[] = [];
  const counters: { beforeKill: Record<string, number> | null; final: Record<string, number> | null } = {
    beforeKill: null,
    final: null,
  };
  for (const fault of options.faults) {
    let phase: PhaseTimes;
    if (fault === 'service') {
      counters.beforeKill = await service.scrape();
      const killAt = Date.now();
      const exitedAt = await service.kill();
      const restartedAt = service.start();
      phase = { fault, killAt, exitedAt, restartedAt, readyAt: null, endAt: 0 };
    } else {
      const server = fault === 'redis' ? redis : kafka;
      const beforeKill = fault === 'redis' ? await probe.aof() : undefined;
      const killAt = Date.now();
      const exitedAt = await server.kill();
      const { spawnedAt, readyAt } = await server.start();
      phase = {
        fault,
        killAt,
        exitedAt,
        restartedAt: spawnedAt,
        readyAt,
        endAt: 0,
        ...(beforeKill ? { beforeKill } : {}),
      };
    }
    phases.push(phase);
    say(`${fault}: SIGKILLed, restarted ${phase.restartedAt - phase.killAt} ms after the kill`);
    await pause(phase.killAt + options.phaseSeconds * 1000);
  }

  const loadStats = await load.stop(Date.now() + 60_000);
  say(`load stopped: ${ledger.offered} requests offered; draining`);
  const drainStart = Date.now();
  const drainDeadline = drainStart + options.drainSeconds * 1000;
  const owedAtEnd = async () => ({
    owedIds: ledger.acceptedAt.filter((t, seq) => t > 0 && (ledger.copies[seq] ?? 0) === 0).length,
    storeItems: await probe.size(),
  });
  let drain = await owedAtEnd();
  while ((drain.owedIds > 0 || drain.storeItems !== 0) && Date.now() < drainDeadline) {
    await sleep(500);
    drain = await owedAtEnd();
  }
  // A drain that ran out of time leaves ids counted as lost that might still arrive: the report says so.
  const drained = {
    ms: Date.now() - drainStart,
    timedOut: drain.owedIds > 0 || drain.storeItems !== 0,
    ...drain,
  };
  probe.close();
  // Copies published just before the store emptied may still be on their way to the observer.
  await sleep(3_000);
  clearInterval(status);
  const runEnd = Date.now();
  counters.final = await service.scrape();
  const gracefulExit = await service.stop(40_000);
  service.close();
  await observer.close().catch(() => undefined);
  await producer.close().catch(() => undefined);

  phases.forEach((phase, i) => {
    phase.endAt = phases[i + 1]?.killAt ?? runEnd;
    if (phase.fault === 'service') phase.readyAt = service.readyAfter(phase.restartedAt);
  });
  const report = await buildReport({
    root: ROOT,
    options,
    ledger,
    phases,
    loadStartedAt,
    runEnd,
    loadStats,
    drain: drained,
    versions: { kafka: kafka.version, redis: redis.version },
    machineLoad: {
      before: loadBefore,
      after: loadAverage(),
      during: load$.stop(),
      harnessCpuCores: harnessCores(process.cpuUsage(cpuBefore), Date.now() - wallBefore),
    },
    service: {
      env: serviceEnv,
      readiness: service.readiness,
      exits: service.exits,
      counters,
      gracefulExitCode: gracefulExit,
      log: service.logSummary(),
    },
    observerRestarts: observer.restarts,
    targetTopic: TARGET_TOPIC,
    payloadBytes: PAYLOAD_BYTES,
  });
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  printSummary(report);
  say(`results written to ${options.out}`);
  return report.verdict.promisesKept ? 0 : 1;
}

async function main(): Promise<void> {
  let options: FaultOptions;
  try {
    options = parseOptions(process.argv.slice(2), ROOT);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    if (!(error instanceof Error && error.message === USAGE)) process.stderr.write(`\n${USAGE}\n`);
    process.exit(2);
  }
  for (const dir of reapStaleRuns()) say(`removed what an earlier, killed run left: ${dir}`);
  const folder = createRunFolder();
  const bail = (signal: string, code: number) => {
    say(`${signal}: stopping every process of this run and removing ${folder.dir}`);
    folder.remove(options.keep);
    process.exit(code);
  };
  process.once('SIGINT', () => bail('SIGINT', 130));
  process.once('SIGTERM', () => bail('SIGTERM', 143));
  process.once('exit', () => folder.killAll());
  let code = 2;
  try {
    code = await run(options, folder);
  } catch (error) {
    process.stderr.write(
      `fault run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  } finally {
    if (options.keep) say(`run folder kept: ${folder.dir}`);
    folder.remove(options.keep);
  }
  process.exit(code);
}

await main();
