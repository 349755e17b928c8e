import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  collect,
  decodeEvents,
  dispatchedOf,
  scheduleRequest,
  startReplica,
  startService,
  waitFor,
  type ServiceContext,
} from './service-support.ts';

const stack = inject('stack');
const MESSAGES = 3_000;

describe('shard hand-over between two replicas', () => {
  let ctx: ServiceContext;
  let out: Awaited<ReturnType<typeof collect>>;

  beforeAll(async () => {
    // Three partitions of the requests topic: three shards, shared out by the consumer group.
    ctx = await startService(stack, { KAFKA_SESSION_TIMEOUT_MS: '6000' });
    out = await collect(ctx.kafka.kafka, [
      ctx.kafka.topics.target ?? '',
      ctx.config.DELAY_QUEUE_EVENTS_TOPIC,
    ]);
  });
  afterAll(async () => {
    await out.close();
    await ctx.close();
  });

  it('moves dispatch with the partitions when a replica stops mid-run, losing nothing and publishing nothing twice', async () => {
    const target = ctx.kafka.topics.target ?? '';
    const second = await startReplica(ctx);
    try {
      const shardsOf = (owned: (number | 'legacy')[]) => owned.filter((ref) => ref !== 'legacy');
      // Both replicas dispatch after the rebalance, each the shards of its own partitions.
      const split = await waitFor(() => {
        const first = shardsOf(ctx.queue.dispatch.owned());
        const other = shardsOf(second.queue.dispatch.owned());
        return first.length > 0 && other.length > 0 && first.length + other.length === 3
          ? { first, other }
          : undefined;
      }, 30_000);
      expect([...split.first, ...split.other].sort()).toEqual([0, 1, 2]);

      const start = Date.now() + 1_000;
      const ids = Array.from({ length: MESSAGES }, (_, i) => `handover-${i}`);
      for (let i = 0; i < MESSAGES; i += 500) {
        await ctx.send(
          ids.slice(i, i + 500).map((id, j) =>
            scheduleRequest({
              message_id: id,
              due_at: start + Math.floor(((i + j) * 6_000) / MESSAGES),
              target_topic: target,
            }),
          ),
        );
      }
      const delivered = () => out.on(target).map((message) => message.headers['message-id'] ?? '');
      await waitFor(() => (delivered().length >= MESSAGES / 4 ? true : undefined), 60_000);
      // The first replica shuts down while its shards still have messages falling due.
      await ctx.service.close();
      expect(delivered().length).toBeLessThan(MESSAGES);
      await waitFor(() => (second.queue.dispatch.owned().length === 4 ? true : undefined), 30_000);
      expect(second.queue.dispatch.owned().sort()).toEqual([0, 1, 2, 'legacy']);
      await waitFor(() => (new Set(delivered()).size >= MESSAGES ? true : undefined), 60_000);
      await waitFor(async () => {
        const stats = await second.queue.store.stats();
        return stats.pending + stats.inFlight === 0 ? true : undefined;
      });
      expect(new Set(delivered()).size).toBe(MESSAGES);
      expect(delivered()).toHaveLength(MESSAGES);
      const dispatched = decodeEvents(out.on(ctx.config.DELAY_QUEUE_EVENTS_TOPIC)).flatMap((event) => {
        const branch = dispatchedOf(event);
        return branch ? [branch] : [];
      });
      expect(dispatched.filter((event) => event.redelivered)).toEqual([]);
    } finally {
      await second.service.close();
    }
  });
});
