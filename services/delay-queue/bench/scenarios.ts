import { uniqueName } from '@openpenpal/test-kit';
import { unionBranch } from '@openpenpal/contracts';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Consumer, Kafka } from 'kafkajs';
import {
  Timeline,
  contracts,
  deleteKeys,
  latenessStats,
  paced,
  until,
  type LatenessStats,
} from './common.ts';
import { scheduleRequest, sendRequests, type OursContext } from './ours.ts';
import { watchSignals, type SignalRow } from './signals.ts';

/** What the burst and paced scenarios report for either system. */
export interface ScenarioResult {
  requests: number;
  /** Ours only: time to produce every request to Kafka, ms. */
  produceMs?: number;
  /** From the first request produced (or add) to the last one stored, ms. */
  intakeMs: number;
  /** Requests (or adds) per second over that time. */
  intakeMsgPerSec: number;
  /** Requests stored only after their due time (ours: Scheduled event later than due_at). */
  storedLate: number;
  /** Dispatch (ours: Kafka's acknowledgement; BullMQ: the processor's start) minus due time. */
  lateness: LatenessStats;
  lost: number;
  duplicated: number;
  /** Ours only: Redis PING, Kafka acknowledgement and CPU by 5-second window (signals.ts). */
  signals?: SignalRow[];
  /** Ours only: lateness by 5-second window of due time, from the start. */
  latenessByDueTime?: ReturnType<Timeline['rows']>;
}

const CHUNK = 1_000;

/** The latest time in a map (a spread of 100,000 arguments would overflow the stack). */
function latest(times: Map<string, number>): number {
  let max = 0;
  for (const time of times.values()) max = Math.max(max, time);
  return max;
}
/** Produce requests (or addBulk calls) in flight at once: "as fast as the producer can". */
const IN_FLIGHT = 4;

function lostAndDuplicated(expected: number, seen: Map<string, number>) {
  let duplicated = 0;
  for (const count of seen.values()) duplicated += count - 1;
  return { lost: expected - seen.size, duplicated };
}

/** Reads this run's events: when each id was stored and each dispatch (counted per id). */
async function watchEvents(kafka: Kafka, topic: string, label: string) {
  const stored = new Map<string, number>();
  const dispatched = new Map<string, number>();
  const lateness: number[] = [];
  const timeline = new Timeline();
  let storedLate = 0;
  const codec = contracts.codec('DelayedMessageEvent');
  const consumer: Consumer = kafka.consumer({
    groupId: uniqueName('bench-dq-scenario'),
    maxWaitTimeInMs: 20,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  const fetched = new Promise<void>((resolve) => {
    const remove = consumer.on(consumer.events.FETCH, () => {
      remove();
      resolve();
    });
  });
  await consumer.run({
    eachBatch: ({ batch }) => {
      for (const message of batch.messages) {
        if (!message.key?.toString().startsWith(label) || !message.value) continue;
        const event = codec.decode(message.value);
        const branch = unionBranch(event.event);
        if (branch.name === 'org.openpenpal.scheduler.DelayedMessageScheduled') {
          if (!stored.has(event.message_id)) {
            stored.set(event.message_id, event.occurred_at);
            if (event.occurred_at > branch.value.due_at) storedLate += 1;
          }
        } else if (branch.name === 'org.openpenpal.scheduler.DelayedMessageDispatched') {
          dispatched.set(event.message_id, (dispatched.get(event.message_id) ?? 0) + 1);
          lateness.push(branch.value.lateness_ms);
          timeline.add(branch.value.due_at, branch.value.lateness_ms);
        }
      }
      return Promise.resolve();
    },
  });
  await fetched;
  return {
    stored,
    dispatched,
    lateness,
    storedLate: () => storedLate,
    timeline,
    close: () => consumer.disconnect(),
  };
}

/**
 * Burst: `count` schedule requests produced as fast as the producer can (IN_FLIGHT sends of
 * CHUNK at a time), each due `delayMs` after it was built; waits for every dispatch.
 */
export async function oursBurst(
  ctx: OursContext,
  options: { count: number; delayMs: number; payload: Buffer; traceparent: string },
): Promise<ScenarioResult> {
  const label = uniqueName('burst');
  const watch = await watchEvents(ctx.kafka, ctx.topics.events, label);
  const start = Date.now();
  const signals = await watchSignals({
    redis: ctx.redis.duplicate(),
    kafka: ctx.kafka,
    topic: ctx.topics.probe,
    pid: ctx.service.child.pid ?? 0,
    start,
  });
  let next = 0;
  const producer = async (): Promise<void> => {
    while (next < options.count) {
      const from = next;
      next = Math.min(options.count, next + CHUNK);
      const now = Date.now();
      await sendRequests(
        ctx,
        Array.from({ length: next - from }, (_, i) =>
          scheduleRequest(
            `${label}-${from + i}`,
            now + options.delayMs,
            ctx.topics.target,
            options.payload,
            options.traceparent,
          ),
        ),
      );
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, producer));
  const produced = Date.now();
  await until(() => Promise.resolve(watch.stored.size >= options.count), options.delayMs + 300_000, 50);
  const storedAt = latest(watch.stored);
  await until(
    () => Promise.resolve(watch.dispatched.size >= options.count),
    options.delayMs + 300_000,
    100,
  ).catch(() => 0);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await watch.close();
  const signalRows = await signals.stop();
  return {
    signals: signalRows,
    latenessByDueTime: watch.timeline.rows(start),
    requests: options.count,
    produceMs: produced - start,
    intakeMs: storedAt - start,
    intakeMsgPerSec: Math.round((options.count * 1000) / Math.max(1, storedAt - start)),
    storedLate: watch.storedLate(),
    lateness: latenessStats(watch.lateness),
    ...lostAndDuplicated(options.count, watch.dispatched),
  };
}

/** Paced: `rate` requests a second for `seconds`, each due 1–10 s after it was produced. */
export async function oursPaced(
  ctx: OursContext,
  options: { rate: number; seconds: number; payload: Buffer; traceparent: string },
): Promise<ScenarioResult> {
  const label = uniqueName('paced');
  const watch = await watchEvents(ctx.kafka, ctx.topics.events, label);
  let produced = 0;
  const start = Date.now();
  await paced(options.rate, options.seconds, async (count, now) => {
    const requests = Array.from({ length: count }, () =>
      scheduleRequest(
        `${label}-${produced++}`,
        now + 1_000 + Math.floor(Math.random() * 9_000),
        ctx.topics.target,
        options.payload,
        options.traceparent,
      ),
    );
    await sendRequests(ctx, requests);
  });
  await until(() => Promise.resolve(watch.stored.size >= produced), 120_000, 50);
  const storedAt = latest(watch.stored);
  await until(() => Promise.resolve(watch.dispatched.size >= produced), 120_000, 100).catch(() => 0);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await watch.close();
  return {
    requests: produced,
    intakeMs: storedAt - start,
    intakeMsgPerSec: Math.round((produced * 1000) / Math.max(1, storedAt - start)),
    storedLate: watch.storedLate(),
    lateness: latenessStats(watch.lateness),
    ...lostAndDuplicated(produced, watch.dispatched),
  };
}

const NAME = 'delayed';

/** A BullMQ queue and a no-op worker (completed jobs removed) under a throwaway prefix. */
async function bullSide(redisUrl: string, concurrency: number) {
  const prefix = uniqueName('bench-bull');
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(NAME, { connection, prefix });
  await queue.waitUntilReady();
  const lateness: number[] = [];
  const seen = new Map<string, number>();
  const worker = new Worker(
    NAME,
    (job) => {
      lateness.push(Date.now() - (job.timestamp + (job.opts.delay ?? 0)));
      const id = (job.data as { id: string }).id;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      return Promise.resolve();
    },
    { connection: workerConnection, prefix, concurrency, removeOnComplete: { count: 0 } },
  );
  await worker.waitUntilReady();
  return {
    queue,
    lateness,
    seen,
    close: async (admin: Redis) => {
      await worker.close();
      await queue.close();
      connection.disconnect();
      workerConnection.disconnect();
      await deleteKeys(admin, `${prefix}:*`);
    },
  };
}

/** Burst on BullMQ: the same `count` jobs with `addBulk` (IN_FLIGHT calls of CHUNK), each due `delayMs` later. */
export async function bullBurst(
  redisUrl: string,
  admin: Redis,
  options: { count: number; delayMs: number; payload: string; concurrency: number },
): Promise<ScenarioResult> {
  const side = await bullSide(redisUrl, options.concurrency);
  try {
    const start = Date.now();
    let next = 0;
    const adder = async (): Promise<void> => {
      while (next < options.count) {
        const from = next;
        next = Math.min(options.count, next + CHUNK);
        await side.queue.addBulk(
          Array.from({ length: next - from }, (_, i) => ({
            name: NAME,
            data: { id: `b-${from + i}`, payload: options.payload },
            opts: { delay: options.delayMs },
          })),
        );
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, adder));
    const added = Date.now();
    await until(() => Promise.resolve(side.seen.size >= options.count), options.delayMs + 300_000, 100).catch(
      () => 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return {
      requests: options.count,
      intakeMs: added - start,
      intakeMsgPerSec: Math.round((options.count * 1000) / Math.max(1, added - start)),
      storedLate: 0,
      lateness: latenessStats(side.lateness),
      ...lostAndDuplicated(options.count, side.seen),
    };
  } finally {
    await side.close(admin);
  }
}

/** Paced on BullMQ: `rate` adds a second (addBulk per 10 ms step) due 1–10 s later. */
export async function bullPaced(
  redisUrl: string,
  admin: Redis,
  options: { rate: number; seconds: number; payload: string; concurrency: number },
): Promise<ScenarioResult> {
  const side = await bullSide(redisUrl, options.concurrency);
  try {
    let produced = 0;
    const start = Date.now();
    await paced(options.rate, options.seconds, async (count) => {
      await side.queue.addBulk(
        Array.from({ length: count }, () => ({
          name: NAME,
          data: { id: `p-${produced++}`, payload: options.payload },
          opts: { delay: 1_000 + Math.floor(Math.random() * 9_000) },
        })),
      );
    });
    const added = Date.now();
    await until(() => Promise.resolve(side.seen.size >= produced), 120_000, 100).catch(() => 0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return {
      requests: produced,
      intakeMs: added - start,
      intakeMsgPerSec: Math.round((produced * 1000) / Math.max(1, added - start)),
      storedLate: 0,
      lateness: latenessStats(side.lateness),
      ...lostAndDuplicated(produced, side.seen),
    };
  } finally {
    await side.close(admin);
  }
}
