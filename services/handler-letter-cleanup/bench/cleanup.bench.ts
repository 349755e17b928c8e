// pnpm bench:handlers (cleanup part): one cleanup run over 1,000,000 letters of which 10% are
// eligible, on the local stack's PostgreSQL: the run's time and this process's peak memory (the run
// holds one batch at a time), then the time the outbox relay takes to publish what it wrote.
// Writes docs/benchmarks/handlers-cleanup.json.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { createContracts } from '@openpenpal/contracts';
import { sampleTrigger } from '@openpenpal/contracts/samples';
import { createLetterCleanupRepository, createOutboxRelay, migrateDomain } from '@openpenpal/domain';
import { createKafkaClient, createProducer } from '@openpenpal/messaging';
import {
  createKafkaTestContext,
  createPgTestContext,
  findWorkspaceRoot,
  loadStackEnv,
  waitFor,
} from '@openpenpal/test-kit';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createCleanupHandler } from '../src/cleanup/handler.ts';

const env = process.env;
const LETTERS = Number(env.BENCH_LETTERS ?? 1_000_000);
const BATCH = Number(env.BENCH_BATCH ?? 1_000);
const log = (message: string) => process.stderr.write(`[bench:cleanup] ${message}\n`);
const logger = pino({ level: 'warn' });

const stack = loadStackEnv();
if (!stack) throw new Error('no local stack: run `pnpm stack:up` first');
const root = findWorkspaceRoot();
const kafka = await createKafkaTestContext(stack, { events: 6, notifications: 6 });
const pg = await createPgTestContext(stack);
try {
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  // 1,000,000 letters: every 10th an old unbound draft (eligible); every 10th + 1 an old draft whose
  // code is bound; every 10th + 2 a recent draft; the rest in other statuses, old.
  const seedStart = Date.now();
  await pg.pool.query(
    `INSERT INTO letters (id, user_id, author_id, status, created_at)
     SELECT 'L' || lpad(n::text, 7, '0'), 'u' || (n % 5000), 'u' || (n % 5000),
       CASE n % 10 WHEN 0 THEN 'draft' WHEN 1 THEN 'draft' WHEN 2 THEN 'generated' WHEN 3 THEN 'delivered'
         WHEN 4 THEN 'read' WHEN 5 THEN 'archived' WHEN 6 THEN 'in_transit' WHEN 7 THEN 'collected'
         WHEN 8 THEN 'approved' ELSE 'published' END,
       CASE n % 10 WHEN 2 THEN now() - interval '1 day' ELSE now() - interval '30 days' END
     FROM generate_series(1, $1::int) AS n`,
    [LETTERS],
  );
  await pg.pool.query(
    `INSERT INTO letter_codes (id, letter_id, code, status, bound_at)
     SELECT 'C' || lpad(n::text, 7, '0'), 'L' || lpad(n::text, 7, '0'), 'OP' || n, 'bound', now() - interval '20 days'
     FROM generate_series(1, $1::int) AS n WHERE n % 10 = 1`,
    [LETTERS],
  );
  await pg.pool.query('ANALYZE letters; ANALYZE letter_codes');
  log(`seeded ${LETTERS} letters in ${Date.now() - seedStart} ms`);

  const contracts = createContracts();
  const client = createKafkaClient({ brokers: stack.kafkaBrokers, clientId: 'bench-cleanup', logger });
  const producer = createProducer({ kafka: client, contracts, logger });
  const handler = createCleanupHandler({
    repository: createLetterCleanupRepository({ pool: pg.pool, schema: pg.schema }),
    producer,
    bindings: {
      events: { topic: kafka.topics.events ?? '', schema: 'LetterMovedToCleanup' },
      notifications: { topic: kafka.topics.notifications ?? '', schema: 'NotificationRequested' },
    },
    clock: { now: () => Date.now() },
    registry: new Registry(),
    batchSize: BATCH,
    deletionDays: 7,
  });
  global.gc?.();
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  }, 50);
  const loadBefore = loadavg();
  const runStart = Date.now();
  const outcome = await handler.handle({
    trigger: sampleTrigger({ task_type: 'letter_cleanup', payload: '{"days_old":7}' }),
    payload: { days_old: 7, target_status: 'draft_cleanup' },
    signal: new AbortController().signal,
    logger,
  });
  const runMs = Date.now() - runStart;
  clearInterval(sampler);
  log(`run: ${JSON.stringify(outcome)} in ${runMs} ms`);
  const moved = outcome.status === 'succeeded' ? Number(outcome.result?.moved) : 0;
  const { rows } = await pg.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM scheduler_outbox');
  const outboxRows = rows[0]?.n ?? 0;

  // The relay publishes what the run wrote (two messages per moved letter).
  const relay = createOutboxRelay({
    pool: pg.pool,
    schema: pg.schema,
    producer,
    logger,
    registry: new Registry(),
    batchSize: 500,
    pollMs: 200,
  });
  const relayStart = Date.now();
  relay.start();
  await waitFor(
    async () =>
      (await pg.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM scheduler_outbox')).rows[0]?.n ===
      0,
    { what: 'the outbox drained', timeoutMs: 900_000, intervalMs: 500 },
  );
  const relayMs = Date.now() - relayStart;
  await relay.close();
  await producer.close();

  const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  const report = {
    benchmark: 'handlers: letter cleanup over a large table',
    date: new Date().toISOString(),
    command: 'node services/handler-letter-cleanup/bench/cleanup.bench.ts (part of pnpm bench:handlers)',
    machine: {
      os: `${osType()} ${release()}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverageBefore: loadBefore.map((v) => Math.round(v * 100) / 100),
      loadAverageAfter: loadavg().map((v) => Math.round(v * 100) / 100),
    },
    versions: {
      postgres: (await pg.pool.query<{ v: string }>('SHOW server_version')).rows[0]?.v,
      kafkajs: '2.2.4',
    },
    params: { letters: LETTERS, eligible: LETTERS / 10, batch: BATCH },
    run: {
      ms: runMs,
      moved,
      lettersScannedPerSecond: Math.round(((LETTERS * 0.3) / runMs) * 1000),
      movedPerSecond: Math.round((moved / runMs) * 1000),
    },
    memory: {
      baselineRssMiB: mib(baseline.rss),
      peakRssMiB: mib(peakRss),
      baselineHeapMiB: mib(baseline.heapUsed),
      peakHeapMiB: mib(peakHeap),
      note: 'the run keeps one batch of ids and its messages at a time (plus garbage not yet collected): memory is bounded by the batch size, not by the table size',
    },
    relay: { outboxRows, ms: relayMs, messagesPerSecond: Math.round((outboxRows / relayMs) * 1000) },
  };
  const out = env.BENCH_OUT ?? join(root, 'docs/benchmarks/handlers-cleanup.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${out}`);
  process.stdout.write(
    `${JSON.stringify({ run: report.run, memory: report.memory, relay: report.relay }, null, 2)}\n`,
  );
} finally {
  await kafka.close();
  await pg.close();
}
