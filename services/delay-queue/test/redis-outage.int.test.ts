import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, ownRedis, type OwnRedis } from './own-redis.ts';
import { collect, scheduleRequest, startService, waitFor, type ServiceContext } from './service-support.ts';

const stack = inject('stack');

/** Requests on the topic that the delay queue's group has not committed yet. */
async function lag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [ends, [committed]] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  let total = 0;
  for (const end of ends) {
    const done = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
    total += Number(end.high) - Math.max(0, Number(done));
  }
  return total;
}

describe('delay queue while Redis is unreachable', () => {
  let redis: OwnRedis;
  let ctx: ServiceContext;
  let out: Awaited<ReturnType<typeof collect>>;
  let admin: Admin;

  beforeAll(async () => {
    redis = ownRedis(await freePort());
    await redis.start();
    ctx = await startService(stack, {
      REDIS_URL: redis.url,
      REDIS_COMMAND_TIMEOUT_MS: '1000',
      REDIS_RECONNECT_MAX_MS: '300',
      DELAY_QUEUE_BACKOFF_MAX_MS: '500',
    });
    out = await collect(ctx.kafka.kafka, [ctx.kafka.topics.target ?? '']);
    admin = ctx.kafka.kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
    await out.close();
    await ctx.close();
    await redis.kill();
  });

  it('stops taking requests, reports not ready, and carries on by itself when Redis returns', async () => {
    const target = ctx.kafka.topics.target ?? '';
    const topic = ctx.config.DELAY_QUEUE_REQUESTS_TOPIC;
    const group = ctx.config.KAFKA_GROUP_ID;
    const readyz = async (): Promise<unknown> => (await fetch(`${ctx.service.ops.url()}/readyz`)).json();
    const ids = () => new Set(out.on(target).map((m) => m.headers['message-id']));
    const batch = (label: string, count: number) =>
      Array.from({ length: count }, (_, i) =>
        scheduleRequest({ message_id: `${label}-${i}`, due_at: Date.now() + 100, target_topic: target }),
      );

    await ctx.send(batch('before', 50));
    await waitFor(() => (ids().size === 50 ? true : undefined));
    expect(await readyz()).toMatchObject({ status: 'ready' });

    await redis.kill();
    await waitFor(async () => {
      const body = await readyz();
      return (body as { checks: Record<string, boolean> }).checks['redis:commands'] ? undefined : body;
    });
    await ctx.send(batch('during', 100));
    // The outage lasts a few seconds: the requests must stay in Kafka, uncommitted, and nothing
    // may be published meanwhile.
    await sleep(3_000);
    expect(await readyz()).toMatchObject({
      status: 'not_ready',
      checks: { 'redis:commands': false, kafka: true },
    });
    expect(await lag(admin, group, topic)).toBeGreaterThanOrEqual(100);
    expect(ids().size).toBe(50);

    await redis.start();
    await waitFor(() => (ids().size === 150 ? true : undefined), 60_000);
    await waitFor(async () => ((await readyz()) as { status: string }).status === 'ready' || undefined);
    await waitFor(async () => ((await lag(admin, group, topic)) === 0 ? true : undefined));
    const metrics = await (await fetch(`${ctx.service.ops.url()}/metrics`)).text();
    expect(metrics).toMatch(
      /scheduler_delay_queue_redis_errors_total\{operation="(schedule|claimDue|nextDueAt)",service="delay-queue"\} [1-9]/,
    );
    expect(out.on(target)).toHaveLength(150);
  });
});
