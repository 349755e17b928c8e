import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createKafkaTestContext,
  createPgTestContext,
  createRedisTestContext,
  type KafkaTestContext,
  type PgTestContext,
  type RedisTestContext,
} from '../src/index.ts';

const stack = inject('stack');

describe('kafka', () => {
  let ctx: KafkaTestContext;
  beforeAll(async () => {
    ctx = await createKafkaTestContext(stack, { orders: 3 });
  });
  afterAll(() => ctx.close());

  it('delivers every message through a consumer group on three partitions, in order per key', async () => {
    const topic = ctx.topics.orders!;
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    const perKey = 25;
    const producer = ctx.kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
    await producer.connect();
    for (let seq = 0; seq < perKey; seq++) {
      await producer.send({
        topic,
        acks: -1,
        messages: keys.map((key) => ({ key, value: JSON.stringify({ key, seq }) })),
      });
    }
    await producer.disconnect();

    const seen = new Map<string, number[]>();
    const partitions = new Set<number>();
    const consumer = ctx.kafka.consumer({ groupId: ctx.groupId() });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const total = keys.length * perKey;
    let received = 0;
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: ({ partition, message }) => {
          const { key, seq } = JSON.parse(message.value?.toString() ?? '{}') as { key: string; seq: number };
          partitions.add(partition);
          seen.set(key, [...(seen.get(key) ?? []), seq]);
          if (++received === total) resolve();
          return Promise.resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();

    expect(received).toBe(total);
    expect(partitions.size).toBe(3);
    for (const key of keys) {
      expect(seen.get(key)).toEqual(Array.from({ length: perKey }, (_, i) => i));
    }
  });
});

describe('redis', () => {
  let ctx: RedisTestContext;
  beforeAll(async () => {
    ctx = await createRedisTestContext(stack);
  });
  afterAll(() => ctx.close());

  const aofSize = async (): Promise<{ enabled: boolean; size: number }> => {
    const info = await ctx.redis.info('persistence');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    return { enabled: field('aof_enabled') === 1, size: field('aof_current_size') };
  };

  it('writes and reads keys, and the append-only file grows with the writes', async () => {
    const before = await aofSize();
    expect(before.enabled).toBe(true);
    const pipeline = ctx.redis.pipeline();
    for (let i = 0; i < 500; i++) pipeline.set(ctx.key(`k${i}`), `value-${i}`);
    await pipeline.exec();
    expect(await ctx.redis.get(ctx.key('k499'))).toBe('value-499');
    expect(await ctx.redis.mget(ctx.key('k0'), ctx.key('k1'))).toEqual(['value-0', 'value-1']);
    const after = await aofSize();
    // 500 SETs with ~40-byte keys and values add well over 10 kB to the AOF.
    expect(after.size - before.size).toBeGreaterThan(10_000);
  });
});

describe('postgres', () => {
  let ctx: PgTestContext;
  beforeAll(async () => {
    ctx = await createPgTestContext(stack);
  });
  afterAll(() => ctx.close());

  it('runs queries inside the test schema', async () => {
    await ctx.pool.query('CREATE TABLE letters (id text PRIMARY KEY, status text NOT NULL)');
    await ctx.pool.query('INSERT INTO letters (id, status) VALUES ($1, $2), ($3, $4)', [
      'a',
      'scheduled',
      'b',
      'published',
    ]);
    const { rows } = await ctx.pool.query<{ status: string; n: string }>(
      'SELECT status, count(*) AS n FROM letters GROUP BY status ORDER BY status',
    );
    expect(rows).toEqual([
      { status: 'published', n: '1' },
      { status: 'scheduled', n: '1' },
    ]);
    const { rows: where } = await ctx.pool.query<{ table_schema: string }>(
      "SELECT table_schema FROM information_schema.tables WHERE table_name = 'letters'",
    );
    expect(where.map((r) => r.table_schema)).toContain(ctx.schema);
  });
});
