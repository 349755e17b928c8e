import { randomUUID } from 'node:crypto';
import { uniqueName } from '@openpenpal/test-kit';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import {
  Timeline,
  deleteKeys,
  latenessStats,
  paced,
  pool,
  until,
  usedMemory,
  watchPersistence,
  type LatenessStats,
} from './common.ts';

const NAME = 'delayed';
const CHUNK = 1_000;

interface BullContext {
  queue: Queue;
  prefix: string;
  connection: Redis;
  close(): Promise<void>;
}

/** A queue under a throwaway prefix on its own connection; close() deletes every key of it. */
async function bullQueue(redisUrl: string, admin: Redis): Promise<BullContext> {
  const prefix = uniqueName('bench-bull');
  // BullMQ wants maxRetriesPerRequest null on connections that block (workers).
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(NAME, { connection, prefix });
  await queue.waitUntilReady();
  return {
    queue,
    prefix,
    connection,
    close: async () => {
      await queue.close();
      connection.disconnect();
      await deleteKeys(admin, `${prefix}:*`);
    },
  };
}

async function addBulk(
  queue: Queue,
  count: number,
  job: (i: number) => { data: string; delay: number; jobId?: string },
) {
  for (let start = 0; start < count; start += CHUNK) {
    const end = Math.min(count, start + CHUNK);
    await queue.addBulk(
      Array.from({ length: end - start }, (_, offset) => {
        const { data, delay, jobId } = job(start + offset);
        return { name: NAME, data, opts: { delay, ...(jobId ? { jobId } : {}) } };
      }),
    );
  }
}

/** (a) Delayed jobs added one by one (`concurrency` adds in flight) and with addBulk. */
export async function bullScheduling(redisUrl: string, admin: Redis, count: number, payload: string) {
  const single = await bullQueue(redisUrl, admin);
  let addMsgPerSec: number;
  try {
    const start = Date.now();
    await pool(count, 256, (i) => single.queue.add(NAME, payload, { delay: 3_600_000 + i }));
    addMsgPerSec = Math.round((count * 1000) / (Date.now() - start));
  } finally {
    await single.close();
  }
  const bulk = await bullQueue(redisUrl, admin);
  try {
    const start = Date.now();
    await addBulk(bulk.queue, count, (i) => ({ data: payload, delay: 3_600_000 + i }));
    return { addMsgPerSec, addBulkMsgPerSec: Math.round((count * 1000) / (Date.now() - start)) };
  } finally {
    await bulk.close();
  }
}

/** A worker whose processor does nothing but note the job; it removes completed jobs, as the store does. */
function noopWorker(ctx: BullContext, redisUrl: string, concurrency: number, onJob: (job: Job) => void) {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker(
    NAME,
    // eslint-disable-next-line @typescript-eslint/require-await -- a no-op processor, as asked
    async (job) => {
      onJob(job);
    },
    { connection, prefix: ctx.prefix, concurrency, removeOnComplete: { count: 0 } },
  );
  return {
    worker,
    close: async () => {
      await worker.close();
      connection.disconnect();
    },
  };
}

/** (b) `count` delayed jobs due at one instant, a no-op worker running: time to process them all. */
export async function bullBacklog(
  redisUrl: string,
  admin: Redis,
  count: number,
  payload: string,
  concurrency: number,
) {
  const ctx = await bullQueue(redisUrl, admin);
  let processed = 0;
  const { worker, close } = noopWorker(ctx, redisUrl, concurrency, () => {
    processed += 1;
  });
  try {
    await worker.waitUntilReady();
    const filling = Date.now();
    const dueAt = filling + 5_000 + count / 2.5;
    await addBulk(ctx.queue, count, () => ({ data: payload, delay: dueAt - Date.now() }));
    const filled = Date.now();
    if (filled >= dueAt)
      throw new Error(`the BullMQ backlog took ${filled - filling} ms to add; raise the margin`);
    const drained = await until(() => Promise.resolve(processed >= count), 600_000, 5);
    return {
      messages: count,
      concurrency,
      drainMs: drained - dueAt,
      msgPerSec: Math.round((count * 1000) / (drained - dueAt)),
      fillMsgPerSec: Math.round((count * 1000) / (filled - filling)),
    };
  } finally {
    await close();
    await ctx.close();
  }
}

/** (d) `used_memory` growth per delayed job, with BullMQ's own ids or a UUID jobId per job. */
export async function bullMemory(
  redisUrl: string,
  admin: Redis,
  count: number,
  payload: string,
  uuidIds: boolean,
) {
  const ctx = await bullQueue(redisUrl, admin);
  try {
    const before = await usedMemory(admin);
    await addBulk(ctx.queue, count, (i) => ({
      data: payload,
      delay: 86_400_000 + i,
      ...(uuidIds ? { jobId: randomUUID() } : {}),
    }));
    return ((await usedMemory(admin)) - before) / count;
  } finally {
    await ctx.close();
  }
}

export interface BullLatenessRun {
  produced: number;
  timeline: {
    processingByDueTime: ReturnType<Timeline['rows']>;
    redisForks: { what: string; fromS: number; toS: number }[];
  };
  /** Start of the no-op processor minus the job's due time (timestamp + delay). */
  processing: LatenessStats;
  processingSteady: LatenessStats;
  backgroundPending: number;
  backgroundBytesPerItem: number;
  concurrency: number;
}

/** (c) with (d): `background` far-future jobs, then `rate` jobs a second due within `spreadMs`. */
export async function bullLateness(
  redisUrl: string,
  admin: Redis,
  options: {
    rate: number;
    seconds: number;
    spreadMs: number;
    background: number;
    payload: string;
    concurrency: number;
  },
): Promise<BullLatenessRun> {
  const ctx = await bullQueue(redisUrl, admin);
  const lateness: number[] = [];
  const steady: number[] = [];
  const timeline = new Timeline();
  let steadyFrom = Number.POSITIVE_INFINITY;
  let steadyTo = Number.POSITIVE_INFINITY;
  try {
    const before = await usedMemory(admin);
    await addBulk(ctx.queue, options.background, (i) => ({ data: options.payload, delay: 86_400_000 + i }));
    const backgroundBytesPerItem = ((await usedMemory(admin)) - before) / Math.max(1, options.background);
    const { worker, close } = noopWorker(ctx, redisUrl, options.concurrency, (job) => {
      const dueAt = job.timestamp + (job.opts.delay ?? 0);
      const late = Date.now() - dueAt;
      lateness.push(late);
      timeline.add(dueAt, late);
      if (dueAt >= steadyFrom && dueAt <= steadyTo) steady.push(late);
    });
    await worker.waitUntilReady();
    let produced = 0;
    const start = Date.now();
    const persistence = watchPersistence(admin, start);
    steadyFrom = start + options.spreadMs;
    steadyTo = start + options.seconds * 1000;
    try {
      await paced(options.rate, options.seconds, async (count) => {
        produced += count;
        await ctx.queue.addBulk(
          Array.from({ length: count }, () => ({
            name: NAME,
            data: options.payload,
            opts: { delay: Math.floor(Math.random() * options.spreadMs) },
          })),
        );
      });
      await until(() => Promise.resolve(lateness.length >= produced), options.spreadMs + 120_000, 100);
    } finally {
      await close();
    }
    const redisForks = await persistence.stop();
    return {
      produced,
      timeline: { processingByDueTime: timeline.rows(start), redisForks },
      processing: latenessStats(lateness),
      processingSteady: latenessStats(steady),
      backgroundPending: options.background,
      backgroundBytesPerItem,
      concurrency: options.concurrency,
    };
  } finally {
    await ctx.close();
  }
}
