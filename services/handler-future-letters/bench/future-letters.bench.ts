// pnpm bench:handlers (first part): 10,000 future letters due in the same minute, released through
// the real delay queue and the handler (in this process, on the local stack), each notified once:
// how late after its time each release committed (letters.published_at) and reached Kafka
// (FutureLetterReleased's broker timestamp). Writes docs/benchmarks/handlers-future-letters.json.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { createContracts } from '@openpenpal/contracts';
import { collectTopics, findWorkspaceRoot, loadStackEnv, waitFor } from '@openpenpal/test-kit';
import { insertLetters, runProcess, startLetterWorld } from '../test/support.ts';

const env = process.env;
const LETTERS = Number(env.BENCH_LETTERS ?? 10_000);
const LEAD_MS = Number(env.BENCH_LEAD_MS ?? 45_000);
const TARGET_MS = 10_000;
const log = (message: string) => process.stderr.write(`[bench:future-letters] ${message}\n`);

function stats(values: number[]) {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return {
    count: sorted.length,
    min: Math.round(sorted[0] ?? 0),
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: Math.round(sorted.at(-1) ?? 0),
  };
}

const stack = loadStackEnv();
if (!stack) throw new Error('no local stack: run `pnpm stack:up` first');
const root = findWorkspaceRoot();
const loadBefore = loadavg();
const started = Date.now();
// As deployed: the delay queue and the handler each in a process of its own; this one only watches.
const world = await startLetterWorld(stack, {
  service: false,
  delayQueue: 'none',
  env: { HANDLER_CONCURRENCY: env.BENCH_HANDLER_CONCURRENCY ?? '6', LOG_LEVEL: 'warn' },
});
const processes = [runProcess(world.delayQueueEnv, 'delay-queue'), runProcess(world.env)];
const triggers = await collectTopics(world.kafka.kafka, [world.env.HANDLER_TRIGGER_TOPIC ?? ''], (bytes) =>
  createContracts().codec('TaskTrigger').decode(bytes),
);
try {
  // Every letter is due at the same instant (a whole second, LEAD_MS from now).
  const dueAt = Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000;
  const ids = Array.from({ length: LETTERS }, (_, i) => `bench-${started}-${String(i).padStart(5, '0')}`);
  for (let i = 0; i < ids.length; i += 1_000) {
    await insertLetters(
      world.pg,
      ids.slice(i, i + 1_000).map((id) => ({
        id,
        user_id: `owner-${id}`,
        recipient_id: `reader-${id}`,
        status: 'scheduled',
        scheduled_at: new Date(dueAt),
      })),
    );
  }
  log(`${LETTERS} letters inserted; publishing FutureLetterScheduled`);
  const publishStart = Date.now();
  for (let i = 0; i < ids.length; i += 500) {
    await world.publishMany(ids.slice(i, i + 500).map((id) => ({ letterId: id, scheduledAt: dueAt })));
  }
  log(`published in ${Date.now() - publishStart} ms; due in ${dueAt - Date.now()} ms`);
  if (Date.now() > dueAt - 5_000) log('warning: the events were published less than 5 s before the due time');

  await waitFor(() => new Set(world.released.messages.map((m) => m.value?.letterId)).size >= LETTERS, {
    what: 'every letter released',
    timeoutMs: LEAD_MS + 300_000,
    intervalMs: 500,
  });
  await waitFor(
    () => new Set(world.notifications.messages.map((m) => m.value?.notification_id)).size >= LETTERS,
    {
      what: 'every notification',
      timeoutMs: 60_000,
      intervalMs: 500,
    },
  );
  // Let late copies (if any) arrive before counting.
  await new Promise((resolve) => setTimeout(resolve, 3_000));

  const { rows } = await world.pg.pool.query<{ lateness_ms: number }>(
    `SELECT (extract(epoch FROM published_at) * 1000 - $1)::float8 AS lateness_ms FROM letters WHERE status = 'published'`,
    [dueAt],
  );
  const committed = stats(rows.map((r) => r.lateness_ms));
  const firstSeen = new Map<string, number>();
  for (const m of world.released.messages) {
    const id = m.value?.letterId;
    if (id && !firstSeen.has(id)) firstSeen.set(id, m.timestamp - dueAt);
  }
  const onKafka = stats([...firstSeen.values()]);
  // Where the time goes: the delay queue publishing the triggers, then the handler working them off.
  const triggerPublished = stats(
    triggers.messages.filter((m) => m.value?.source === 'delayed').map((m) => m.timestamp - dueAt),
  );
  const notifications = world.notifications.messages.length;
  const uniqueNotifications = new Set(world.notifications.messages.map((m) => m.value?.notification_id)).size;
  // A copy at a new offset was produced twice; the same offset read twice is this reader's own redelivery.
  const notificationOffsets = new Set(world.notifications.messages.map((m) => `${m.partition}:${m.offset}`))
    .size;
  const triggerOffsets = new Set(triggers.messages.map((m) => `${m.partition}:${m.offset}`)).size;
  const report = {
    benchmark: 'handlers: future letters due in the same minute',
    date: new Date().toISOString(),
    command:
      'node services/handler-future-letters/bench/future-letters.bench.ts (part of pnpm bench:handlers)',
    durationSeconds: Math.round((Date.now() - started) / 1000),
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
      kafkajs: '2.2.4',
      kafkaBroker: '4.4.0 (deploy/local)',
      postgres: (await world.pg.pool.query<{ v: string }>('SHOW server_version')).rows[0]?.v,
    },
    setup:
      'the delay queue and handler-future-letter-unlock each in a process of its own (as deployed), this process ' +
      'only publishing the events and reading the topics; the local stack (1 broker, 6-partition topics), ' +
      `HANDLER_CONCURRENCY=${env.BENCH_HANDLER_CONCURRENCY ?? '6'}, one exact-time trigger per letter`,
    params: { letters: LETTERS, leadMs: LEAD_MS },
    triggerPublishedAfterDueMs: triggerPublished,
    releaseCommittedAfterDueMs: committed,
    releasedEventOnKafkaAfterDueMs: onKafka,
    releasedEvents: { messages: world.released.messages.length, letters: firstSeen.size },
    notifications: {
      messages: notifications,
      distinctOffsets: notificationOffsets,
      unique: uniqueNotifications,
    },
    triggers: { messages: triggers.messages.length, distinctOffsets: triggerOffsets },
    targets: {
      'every letter released within 10 s of its time': {
        target: `max <= ${TARGET_MS} ms`,
        measured: `max ${onKafka.max} ms (event on Kafka), ${committed.max} ms (committed)`,
        met: onKafka.max <= TARGET_MS && committed.count === LETTERS,
      },
      'each notified once': {
        target: `${LETTERS} notification requests, all distinct`,
        measured: `${notificationOffsets} produced (${notifications} read), ${uniqueNotifications} distinct`,
        met: uniqueNotifications === LETTERS && notificationOffsets === LETTERS,
      },
    },
  };
  const out = env.BENCH_OUT ?? join(root, 'docs/benchmarks/handlers-future-letters.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${out}`);
  process.stdout.write(`${JSON.stringify(report.targets, null, 2)}\n`);
} finally {
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.exited));
  await triggers.close();
  await world.close();
}
