/**
 * Redis memory per pending delayed message: this service's store against BullMQ delayed jobs, same
 * Redis, same 200-byte payload. Each run uses throwaway key prefixes and deletes them afterwards.
 *
 *   node services/delay-queue/scripts/memory-probe.ts [--items 100000] [--payload-bytes 200]
 *     [--record typical|payload] [--json]
 *
 * `--record typical` (the default) stores what the intake stores for a usual request: the record
 * encoding (src/record.ts) of a catalogue topic, the key `ai_penpal_reply`, a `traceparent` header
 * and the payload (246 bytes with a 200-byte payload); `--record payload` stores the bare payload.
 *
 * Redis comes from REDIS_URL, else from the local stack's env file (`pnpm stack:up`). The numbers
 * are `INFO memory` used_memory deltas divided by the item count (what Redis really allocated,
 * allocator rounding included), next to the sum of `MEMORY USAGE` over the keys written. On a
 * Redis shared with running tests the delta carries some noise; run it twice.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadStackEnv } from '@openpenpal/test-kit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { encodeRecord } from '../src/record.ts';
import { createDelayStore } from '../src/store/index.ts';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '100000' },
    'payload-bytes': { type: 'string', default: '200' },
    record: { type: 'string', default: 'typical' },
    json: { type: 'boolean', default: false },
  },
});
const items = Number(values.items);
const payloadBytes = Number(values['payload-bytes']);
const CHUNK = 1000;
if (values.record !== 'typical' && values.record !== 'payload')
  throw new Error('--record is typical or payload');
const recordShape = values.record;

const redisUrl = process.env.REDIS_URL ?? loadStackEnv()?.redisUrl;
if (!redisUrl) throw new Error('set REDIS_URL or start the local stack (pnpm stack:up)');
const redis = new Redis(redisUrl);

// Printable, so BullMQ (JSON data) and the store (bytes) hold exactly the same payload.
const payload = randomBytes(payloadBytes).toString('base64url').slice(0, payloadBytes);

interface Probe {
  name: string;
  bytesPerItem: number;
  memoryUsagePerItem: number;
  keys: number;
}

async function usedMemory(): Promise<number> {
  // Memory freed by UNLINK (or lazyfree settings) is released by a background thread; a delta
  // taken before it finished would credit the next probe with the previous one's memory.
  for (;;) {
    const info = await redis.info('memory');
    if (Number(/^lazyfree_pending_objects:(\d+)/m.exec(info)?.[1] ?? 0) === 0) {
      return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function scan(pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

async function memoryUsage(keys: string[]): Promise<number> {
  let total = 0;
  for (let start = 0; start < keys.length; start += CHUNK) {
    const pipeline = redis.pipeline();
    // SAMPLES 0: measure every element of a big key rather than extrapolate from five.
    for (const key of keys.slice(start, start + CHUNK)) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    for (const [error, bytes] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      total += Number(bytes);
    }
  }
  return total;
}

async function inChunks(work: (index: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items; start += CHUNK) {
    const end = Math.min(start + CHUNK, items);
    await Promise.all(Array.from({ length: end - start }, (_, offset) => work(start + offset)));
  }
}

async function measure(name: string, pattern: string, fill: () => Promise<void>): Promise<Probe> {
  const before = await usedMemory();
  await fill();
  const after = await usedMemory();
  const keys = await scan(pattern);
  return {
    name,
    bytesPerItem: (after - before) / items,
    memoryUsagePerItem: (await memoryUsage(keys)) / items,
    keys: keys.length,
  };
}

async function probeStore(): Promise<Probe> {
  const prefix = `probe-${randomBytes(6).toString('hex')}`;
  const store = createDelayStore({ redis, prefix, clock: { now: () => Date.now() } });
  const record =
    recordShape === 'payload'
      ? Buffer.from(payload)
      : encodeRecord({
          topic: 'scheduler.trigger.ai-penpal-reply',
          key: 'ai_penpal_reply',
          headers: {
            traceparent: Buffer.from(
              `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
            ),
          },
          payload: Buffer.from(payload),
        });
  const start = Date.now() + 3_600_000;
  try {
    return await measure('delay store (UUID ids)', store.keys.pattern, () =>
      inChunks(async (index) => {
        const outcome = await store.schedule({ id: randomUUID(), dueAt: start + index, record });
        if (outcome !== 'scheduled') throw new Error(`schedule said ${outcome}`);
      }),
    );
  } finally {
    await store.close();
    const keys = await scan(store.keys.pattern);
    if (keys.length > 0) await redis.del(...keys);
  }
}

async function probeBullmq(name: string, jobId: () => string | undefined): Promise<Probe> {
  const prefix = `probe-${randomBytes(6).toString('hex')}`;
  // A connection of our own: BullMQ does not close a connection it was handed.
  const connection = new Redis(redisUrl ?? '', { maxRetriesPerRequest: null });
  const queue = new Queue('probe', { connection, prefix });
  try {
    return await measure(name, `${prefix}:*`, () =>
      inChunks((index) => {
        const id = jobId();
        return queue.add('probe', payload, { delay: 3_600_000 + index, ...(id ? { jobId: id } : {}) });
      }),
    );
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
    const left = await scan(`${prefix}:*`);
    if (left.length > 0) await redis.del(...left);
  }
}

try {
  const server = await redis.info('server');
  const version = /^redis_version:(\S+)/m.exec(server)?.[1] ?? 'unknown';
  const store = await probeStore();
  const bullAuto = await probeBullmq('BullMQ delayed job (auto ids)', () => undefined);
  const bullUuid = await probeBullmq('BullMQ delayed job (UUID jobId)', () => randomUUID());
  const probes = [store, bullAuto, bullUuid];
  const report = {
    redisVersion: version,
    items,
    payloadBytes,
    record: recordShape,
    probes,
    ratioToBullmqAuto: store.bytesPerItem / bullAuto.bytesPerItem,
    ratioToBullmqUuid: store.bytesPerItem / bullUuid.bytesPerItem,
  };
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(
      `Redis ${version}, ${items} pending items, ${payloadBytes}-byte payload, ${recordShape} record\n`,
    );
    console.log('| what | used_memory delta B/item | MEMORY USAGE B/item | keys |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const probe of probes) {
      console.log(
        `| ${probe.name} | ${probe.bytesPerItem.toFixed(1)} | ${probe.memoryUsagePerItem.toFixed(1)} | ${probe.keys} |`,
      );
    }
    console.log(
      `\nstore / BullMQ: ${(100 * report.ratioToBullmqAuto).toFixed(1)}% (auto ids), ` +
        `${(100 * report.ratioToBullmqUuid).toFixed(1)}% (UUID jobIds); target at most 55%`,
    );
  }
} finally {
  redis.disconnect();
}
