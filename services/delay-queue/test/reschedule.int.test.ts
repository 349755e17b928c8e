import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dispatchMessageId } from '../src/dispatch-batch.ts';
import { createDelayStore, shardPrefix } from '../src/store/index.ts';
import {
  cancelRequest,
  collect,
  decodeEvents,
  eventOutcome,
  scheduleRequest,
  startService,
  waitFor,
  type ServiceContext,
} from './service-support.ts';

const stack = inject('stack');

// Re-schedule requests through the whole service: Kafka intake, Redis scripts, the service's own
// dispatcher, the target topic and the events topic.
describe('delay queue re-schedule', () => {
  let ctx: ServiceContext;
  let out: Awaited<ReturnType<typeof collect>>;
  let target: string;
  let other: string;
  let redis: Redis;

  const outcomesOf = (id: string) =>
    decodeEvents(out.on(ctx.config.DELAY_QUEUE_EVENTS_TOPIC))
      .filter((event) => event.message_id === id)
      .map(eventOutcome);
  const waitForOutcomes = (id: string, count: number) =>
    waitFor(() => (outcomesOf(id).length >= count ? outcomesOf(id) : undefined));
  /** Messages of `id` on `topic`: its first copy and replacements (generations 1 and 2). */
  const published = (id: string, topic = target) => {
    const messageIds = [id, dispatchMessageId(id, 1), dispatchMessageId(id, 2)];
    return out.on(topic).filter((m) => messageIds.includes(m.headers['message-id'] ?? ''));
  };
  const settled = () =>
    waitFor(async () => {
      const stats = await ctx.queue.store.stats();
      return stats.pending + stats.inFlight === 0 ? true : undefined;
    });

  /**
   * Claims `id` the way a dispatcher of another replica does, with a clock `aheadMs` ahead so the
   * service's own dispatcher (on the real clock) does not get there first; the claim then holds for
   * `visibilityMs` past that clock, as if that dispatcher were publishing it.
   */
  const holdClaim = async (id: string, aheadMs: number, visibilityMs: number) => {
    const store = createDelayStore({
      redis,
      // The shard the service stored the id in: its request partition's.
      prefix: shardPrefix(ctx.config.REDIS_KEY_PREFIX, ctx.queue.store.shardOf(id)),
      clock: { now: () => Date.now() + aheadMs },
    });
    const claims = await store.claimDue({ limit: 1, visibilityMs });
    expect(claims.map((claim) => claim.id)).toEqual([id]);
    return { store, claims };
  };

  beforeAll(async () => {
    ctx = await startService(stack);
    target = ctx.kafka.topics.target ?? '';
    other = ctx.kafka.topics.other ?? '';
    redis = new Redis(stack.redisUrl);
    out = await collect(ctx.kafka.kafka, [target, other, ctx.config.DELAY_QUEUE_EVENTS_TOPIC]);
  });
  afterAll(async () => {
    redis.disconnect();
    await out.close();
    await ctx.close();
  });

  it('keeps a pending message when a request without replace brings another time and payload', async () => {
    const dueAt = Date.now() + 500;
    await ctx.send([
      scheduleRequest({ message_id: 'kept', due_at: dueAt, target_topic: target }),
      scheduleRequest({
        message_id: 'kept',
        due_at: dueAt + 60_000,
        target_topic: other,
        payload: Buffer.from('ignored'),
        if_pending: 'keep',
      }),
    ]);
    expect(await waitForOutcomes('kept', 3)).toEqual(['scheduled', 'duplicate', 'DelayedMessageDispatched']);
    expect(published('kept').map((m) => m.value?.toString())).toEqual(['payload of kept']);
    expect(published('kept', other)).toEqual([]);
  });

  it('replaces the due time, target, key, headers and payload of a pending message', async () => {
    const now = Date.now();
    await ctx.send([
      scheduleRequest({ message_id: 'moved', due_at: now + 300, target_topic: target, target_key: 'old' }),
      scheduleRequest({
        message_id: 'moved',
        due_at: now + 900,
        target_topic: other,
        target_key: 'new',
        headers: { 'x-version': Buffer.from('2') },
        payload: Buffer.from('new payload'),
        if_pending: 'replace',
      }),
    ]);
    expect(await waitForOutcomes('moved', 3)).toEqual([
      'scheduled',
      'rescheduled',
      'DelayedMessageDispatched',
    ]);
    const [message] = published('moved', other);
    expect(message).toMatchObject({ key: 'new', headers: { 'x-version': '2', 'message-id': 'moved' } });
    expect(message?.value?.toString()).toBe('new payload');
    expect(message?.receivedAt).toBeGreaterThanOrEqual(now + 900);
    await settled();
    expect(published('moved')).toEqual([]);
    expect(published('moved', other)).toHaveLength(1);
  });

  it('schedules a cancelled id again and never a fired one, whatever if_pending says', async () => {
    const now = Date.now();
    await ctx.send([
      scheduleRequest({ message_id: 'again', due_at: now + 60_000, target_topic: target }),
      cancelRequest('again'),
      scheduleRequest({
        message_id: 'again',
        due_at: now + 300,
        target_topic: target,
        if_pending: 'replace',
      }),
    ]);
    await waitForOutcomes('again', 4);
    await ctx.send([
      scheduleRequest({
        message_id: 'again',
        due_at: now + 600,
        target_topic: target,
        if_pending: 'replace',
      }),
    ]);
    expect(await waitForOutcomes('again', 5)).toEqual([
      'scheduled',
      'cancelled',
      'scheduled',
      'DelayedMessageDispatched',
      'already_fired',
    ]);
    await settled();
    expect(published('again')).toHaveLength(1);
  });

  it('leaves a message in flight alone without replace, and publishes it once', async () => {
    const dueAt = Date.now() + 3_000;
    await ctx.send([scheduleRequest({ message_id: 'busy', due_at: dueAt, target_topic: target })]);
    await waitForOutcomes('busy', 1);
    const holder = await holdClaim('busy', 3_000, 60_000);
    await ctx.send([
      scheduleRequest({
        message_id: 'busy',
        due_at: dueAt,
        target_topic: target,
        payload: Buffer.from('no'),
      }),
    ]);
    expect(await waitForOutcomes('busy', 2)).toEqual(['scheduled', 'duplicate']);
    // The holder's publish failed: the message goes back to pending and the service publishes it.
    expect(await holder.store.release(holder.claims)).toMatchObject({ released: 1 });
    await waitForOutcomes('busy', 3);
    expect(published('busy').map((m) => m.value?.toString())).toEqual(['payload of busy']);
  });

  it('publishes only the replacement when the dispatcher holding the old copy crashed', async () => {
    const now = Date.now();
    await ctx.send([scheduleRequest({ message_id: 'crashed', due_at: now + 3_000, target_topic: target })]);
    await waitForOutcomes('crashed', 1);
    // The claim runs out 5 s from now, as when its dispatcher died before publishing.
    await holdClaim('crashed', 3_000, 2_000);
    await ctx.send([
      scheduleRequest({
        message_id: 'crashed',
        due_at: now + 500,
        target_topic: target,
        payload: Buffer.from('replacement'),
        if_pending: 'replace',
      }),
    ]);
    expect(await waitForOutcomes('crashed', 3)).toEqual([
      'scheduled',
      'rescheduled',
      'DelayedMessageDispatched',
    ]);
    await settled();
    const messages = published('crashed').map((m) => [m.headers['message-id'], m.value?.toString()]);
    expect(messages).toEqual([[dispatchMessageId('crashed', 1), 'replacement']]);
    expect(Date.now() - now).toBeGreaterThanOrEqual(5_000);
  });
});
