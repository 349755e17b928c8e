// pnpm bench:notifier (node services/notifier/bench/notifier.bench.ts) — the notifier in-process with
// the real delay queue on the local stack (its own topics, schema and Redis prefix): (a) sustained
// in-app + webhook deliveries at BENCH_RATE requests/s for BENCH_SECONDS, paced on an absolute
// schedule (one in BENCH_WEBHOOK_EVERY also to a webhook receiver on loopback that verifies every
// signature), with p50/p99 request-to-delivery latency from the Delivered events; (b) the time to
// drain BENCH_DRAIN daily-inspiration requests produced up front (0 skips it). Writes
// docs/benchmarks/<BENCH_OUT, default notifier>.json.
import { cpus, loadavg, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContracts, unionBranch, type NotificationDelivered } from '@openpenpal/contracts';
import { createProducer, type Producer } from '@openpenpal/messaging';
import { findWorkspaceRoot, loadStackEnv } from '@openpenpal/test-kit';
import { pino } from 'pino';
import { request, startNotifierWorld, WEBHOOK_SECRET } from '../test/support.ts';
import { startWebhookReceiver } from '../test/fixtures/webhook-receiver.ts';

const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const params = {
  rate: num('BENCH_RATE', 2_000),
  seconds: num('BENCH_SECONDS', 20),
  tickMs: num('BENCH_TICK_MS', 10),
  webhookEvery: num('BENCH_WEBHOOK_EVERY', 10),
  users: num('BENCH_USERS', 5_000),
  drain: num('BENCH_DRAIN', 100_000),
};
const OUT = process.env.BENCH_OUT ?? 'notifier';
const TARGETS = { inAppPerSecond: 2_000, p99Ms: 100 };
const stack = loadStackEnv();
if (!stack) throw new Error('no stack: run `pnpm stack:up` first');

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const hooks = await startWebhookReceiver(WEBHOOK_SECRET);
const world = await startNotifierWorld(stack, { env: { NOTIFIER_USER_RATE_LIMIT: '0', LOG_LEVEL: 'warn' } });
const loadBefore = loadavg();
const offering = createProducer({
  kafka: world.kafka.kafka,
  contracts: createContracts(),
  logger: pino({ level: 'warn' }),
});
await offering.connect();
try {
  const schema = world.pg.schema;
  const total = Math.max(params.users, params.drain);
  // Users with no quiet hours; every webhookEvery-th has a webhook; the rest in-app only.
  await world.pg.pool.query(
    `INSERT INTO "${schema}".users (id, username) SELECT 'b' || g, 'b' || g FROM generate_series(1, $1) g`,
    [total],
  );
  await world.pg.pool.query(
    `INSERT INTO "${schema}".notification_preferences (user_id, email_enabled, quiet_hours, webhook_enabled, webhook_url, inspiration_enabled)
     SELECT 'b' || g, false, NULL, g % $2 = 0, CASE WHEN g % $2 = 0 THEN $3 END, true FROM generate_series(1, $1) g`,
    [total, params.webhookEvery, hooks.url],
  );
  const requestedAt = new Map<string, number>();
  const delivered = () =>
    world.events.messages.flatMap((m) => {
      const branch = m.value ? unionBranch(m.value.event) : undefined;
      return branch?.name.endsWith('NotificationDelivered')
        ? [{ id: m.key ?? '', d: branch.value as NotificationDelivered, receivedAt: m.receivedAt }]
        : [];
    });
  const send = async (producer: Producer, batch: ReturnType<typeof request>[]) => {
    for (const value of batch) requestedAt.set(value.notification_id, value.requested_at);
    await producer.send(
      { topic: world.env.NOTIFIER_REQUESTS_TOPIC!, schema: 'NotificationRequested' },
      batch.map((value) => ({ key: value.notification_id, value })),
    );
  };

  // Warm-up: one request delivered, so the consumer group has formed and every partition is being
  // consumed before the clock starts (a join that takes seconds is not the notifier's latency).
  const warmUp = request({ user_id: 'b1', requested_at: Date.now() });
  await send(offering, [warmUp]);
  const warmUntil = Date.now() + 120_000;
  while (!delivered().some((x) => x.id === warmUp.notification_id) && Date.now() < warmUntil) await sleep(50);

  // (a) sustained: BENCH_RATE requests/s on an absolute schedule in ticks of BENCH_TICK_MS, from a
  // producer of the benchmark's own. A tick sends what the schedule owes by then and does not wait
  // for the previous send's acknowledgement, so a slow send or a late timer never lowers the offered
  // rate (the sends queue in the client instead, and the acknowledged rate says so).
  const offered = Math.round(params.rate * params.seconds);
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  const cpuBefore = process.cpuUsage();
  const loadAtStart = loadavg()[0] ?? 0;
  const started = Date.now();
  while (sent < offered) {
    const owed = Math.min(offered, Math.floor(((Date.now() - started) * params.rate) / 1000));
    if (owed > sent) {
      const batch = Array.from({ length: owed - sent }, (_, i) =>
        request({ user_id: `b${((sent + i) % params.users) + 1}`, requested_at: Date.now() }),
      );
      sent = owed;
      inFlight.push(send(offering, batch));
    }
    await sleep(params.tickMs);
  }
  const scheduleEnded = Date.now();
  await Promise.all(inFlight);
  const acknowledged = Date.now();
  const webhooksExpected = Math.floor(sent / params.webhookEvery);
  const until = Date.now() + 120_000;
  while (delivered().length < sent + webhooksExpected + 1 && Date.now() < until) await sleep(200);
  const cpu = process.cpuUsage(cpuBefore);
  const sustained = delivered().filter((x) => x.id !== warmUp.notification_id);
  const summary = (channel: string) => {
    const rows = sustained.filter((x) => x.d.channel === channel);
    const latencies = rows
      .map((x) => x.d.delivered_at - (requestedAt.get(x.id) ?? x.d.delivered_at))
      .sort((a, b) => a - b);
    // Request to its Delivered event on Kafka (through the outbox relay), as the benchmark saw it.
    const onKafka = rows
      .map((x) => x.receivedAt - (requestedAt.get(x.id) ?? x.receivedAt))
      .sort((a, b) => a - b);
    const times = rows.map((x) => x.d.delivered_at);
    const first = Math.min(...times);
    const last = Math.max(...times);
    const inWindow = times.filter((t) => t >= started + 2_000 && t < scheduleEnded).length;
    return {
      delivered: rows.length,
      // Deliveries over the span from the first to the last one: the rate the notifier sustained.
      per_second: Math.round(((rows.length - 1) * 1000) / Math.max(1, last - first)),
      per_second_steady_window: Math.round((inWindow * 1000) / Math.max(1, scheduleEnded - started - 2_000)),
      last_after_offering_ms: last - scheduleEnded,
      p50_ms: percentile(latencies, 50),
      p99_ms: percentile(latencies, 99),
      max_ms: latencies.at(-1) ?? null,
      event_on_kafka_p50_ms: percentile(onKafka, 50),
      event_on_kafka_p99_ms: percentile(onKafka, 99),
    };
  };
  const sustainedResult = {
    requested: sent,
    offered_rate: params.rate,
    offered_scheduled_per_second: Math.round((sent * 1000) / (scheduleEnded - started)),
    offered_acknowledged_per_second: Math.round((sent * 1000) / (acknowledged - started)),
    produce_seconds: Number(((acknowledged - started) / 1000).toFixed(2)),
    in_app: summary('in_app'),
    webhook: {
      ...summary('webhook'),
      expected: webhooksExpected,
      signatures_verified: hooks.received.filter((r) => r.verified).length,
    },
    process_cpu_us_per_request: Math.round((cpu.user + cpu.system) / sent),
    load_1m_start_end: [loadAtStart, loadavg()[0] ?? 0].map((l) => Number(l.toFixed(2))),
  };
  console.log('sustained', JSON.stringify(sustainedResult));
  const beforeDrain = world.events.messages.length;

  // (b) drain: BENCH_DRAIN daily-inspiration requests produced as fast as possible.
  const drainStart = Date.now();
  for (let from = 0; from < params.drain; from += 2_000) {
    await send(
      offering,
      Array.from({ length: Math.min(2_000, params.drain - from) }, (_, i) =>
        request({
          user_id: `b${from + i + 1}`,
          type: 'daily_inspiration',
          data: { theme: '日常小确幸', prompt: '写一件今天让你微笑的小事' },
          requested_at: Date.now(),
        }),
      ),
    );
  }
  const drainProduced = (Date.now() - drainStart) / 1000;
  const drainUntil = Date.now() + 900_000;
  while (world.events.messages.length - beforeDrain < params.drain && Date.now() < drainUntil)
    await sleep(250);
  const drainSeconds = (Date.now() - drainStart) / 1000;
  const drainEvents = world.events.messages.length - beforeDrain;
  const drainResult = {
    requested: params.drain,
    produce_seconds: Number(drainProduced.toFixed(2)),
    delivered_events: drainEvents,
    drain_seconds: Number(drainSeconds.toFixed(2)),
    per_second: Math.round(drainEvents / drainSeconds),
  };
  console.log('drain', JSON.stringify(drainResult));

  const out = join(findWorkspaceRoot(), `docs/benchmarks/${OUT}.json`);
  const result = {
    command: `${OUT === 'notifier' ? '' : `BENCH_OUT=${OUT} `}pnpm bench:notifier`,
    params,
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model,
      memory_gb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      load_average_before: loadBefore.map((l) => Number(l.toFixed(2))),
      load_average_after: loadavg().map((l) => Number(l.toFixed(2))),
      note: "the 2 cores are shared with other developers' processes; Kafka, Redis and PostgreSQL run on the same machine",
    },
    versions: { kafka: 'local stack (deploy/local)', nodemailer: '10.6.0', cockatiel: '4.0.0' },
    targets: TARGETS,
    sustained: sustainedResult,
    drain: drainResult,
    met: {
      offered_rate: sustainedResult.offered_acknowledged_per_second >= TARGETS.inAppPerSecond,
      in_app_rate: sustainedResult.in_app.per_second >= TARGETS.inAppPerSecond,
      in_app_p99: sustainedResult.in_app.p99_ms < TARGETS.p99Ms,
    },
    measured_at: new Date().toISOString(),
  };
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`written to ${out}`);
} finally {
  await offering.close();
  await world.close();
  await hooks.close();
}
