import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { dispatchMessageId } from '../src/dispatch-batch.ts';
import { encodeRecord } from '../src/record.ts';
import { counterValue, createDispatcherContext, type DispatcherContext } from './dispatcher-support.ts';
import { collect, decodeEvents, dispatchedOf, waitFor } from './service-support.ts';

const stack = inject('stack');

describe('dispatcher', () => {
  let ctx: DispatcherContext;
  let out: Awaited<ReturnType<typeof collect>>;
  let target: string;
  const ids = () => out.on(target).map((message) => message.headers['message-id'] ?? '');
  const arrived = (id: string) => out.on(target).find((message) => message.headers['message-id'] === id);

  beforeEach(async () => {
    ctx = await createDispatcherContext(stack);
    target = ctx.kafka.topics.target ?? '';
    out = await collect(ctx.kafka.kafka, [target, ctx.kafka.topics.events ?? '']);
  });
  afterEach(async () => {
    await out.close();
    await ctx.close();
  });

  it('publishes every message exactly once with two replicas claiming from one store', async () => {
    const start = Date.now();
    const count = 3_000;
    for (let i = 0; i < count; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, count - i) }, (_, j) =>
          ctx.schedule(`m-${i + j}`, start + ((i + j) % 500)),
        ),
      );
    }
    const replicas = [await ctx.replica({ batchSize: 200 }), await ctx.replica({ batchSize: 200 })];
    await waitFor(() => (ids().length >= count ? true : undefined), 60_000);
    // Anything still to come would be a duplicate: wait until both replicas hold no claim.
    await waitFor(async () => ((await ctx.store.stats()).inFlight === 0 ? true : undefined));
    expect(new Set(ids()).size).toBe(count);
    expect(ids()).toHaveLength(count);
    let dispatched = 0;
    for (const replica of replicas)
      dispatched += await counterValue(replica.registry, 'scheduler_delay_queue_dispatched_total');
    expect(dispatched).toBe(count);
    expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 0 });
  });

  it('releases the claim when a publish fails and publishes the message on a later try', async () => {
    await ctx.schedule('flaky', Date.now());
    const replica = await ctx.replica({ wakeups: false });
    const original = replica.targetProducer.sendEncoded.bind(replica.targetProducer);
    let calls = 0;
    replica.targetProducer.sendEncoded = async (batch) => {
      calls += 1;
      if (calls === 1) throw new Error('broker refused the batch');
      return original(batch);
    };
    await waitFor(() => arrived('flaky'));
    expect(calls).toBe(2);
    expect(await counterValue(replica.registry, 'scheduler_delay_queue_publish_failures_total')).toBe(1);
    await waitFor(async () => ((await ctx.store.stats()).inFlight === 0 ? true : undefined));
    expect(ids()).toEqual(['flaky']);
  });

  it('claims again an item whose claim expired and counts it as redelivered', async () => {
    const dueAt = Date.now();
    await ctx.schedule('orphan', dueAt);
    // A dispatcher that claims and then dies: its claim runs out after 400 ms.
    const [claimed] = await ctx.store.claimDue({ limit: 1, visibilityMs: 400 });
    expect(claimed?.id).toBe('orphan');
    const replica = await ctx.replica();
    const message = await waitFor(() => arrived('orphan'));
    expect(message.receivedAt).toBeGreaterThanOrEqual(dueAt + 400);
    expect(await counterValue(replica.registry, 'scheduler_delay_queue_redelivered_total')).toBe(1);
    const event = await waitFor(() =>
      decodeEvents(out.on(ctx.kafka.topics.events ?? '')).find((e) => e.message_id === 'orphan'),
    );
    expect(dispatchedOf(event)).toMatchObject({ redelivered: true, due_at: dueAt });
  });

  it('sleeps until the earliest due time and wakes early for an earlier item scheduled in process', async () => {
    const replica = await ctx.replica({ maxSleepMs: 60_000, wakeups: false });
    await ctx.schedule('late', Date.now() + 5_000);
    replica.dispatcher.notify(Date.now() + 5_000);
    // Let the dispatcher find nothing due and go to sleep until the late item.
    await sleep(200);
    const dueAt = Date.now() + 300;
    await ctx.schedule('early', dueAt);
    replica.dispatcher.notify(dueAt);
    const message = await waitFor(() => arrived('early'));
    expect(message.receivedAt - dueAt).toBeLessThan(1_000);
    expect(arrived('late')).toBeUndefined();
  });

  it('wakes early for an earlier item another replica scheduled, through the wake-up channel', async () => {
    await ctx.replica({ maxSleepMs: 60_000 });
    await ctx.schedule('late', Date.now() + 5_000);
    await sleep(200);
    const dueAt = Date.now() + 300;
    // Scheduled by another connection: only the store's pub/sub wake-up can tell the dispatcher.
    const writer = await ctx.replica({ maxSleepMs: 60_000, wakeups: false });
    await writer.dispatcher.close();
    await ctx.schedule('early', dueAt, writer.store);
    const message = await waitFor(() => arrived('early'));
    expect(message.receivedAt - dueAt).toBeLessThan(1_000);
    expect(arrived('late')).toBeUndefined();
  });

  describe('a replace while the copy is being published', () => {
    const replacement = (id: string) =>
      encodeRecord({ topic: target, key: id, headers: {}, payload: Buffer.from(`replacement of ${id}`) });

    /** A replica whose first publish waits until `open` is called, then succeeds or fails. */
    const gatedReplica = async () => {
      const replica = await ctx.replica();
      const original = replica.targetProducer.sendEncoded.bind(replica.targetProducer);
      let started!: () => void;
      const publishing = new Promise<void>((resolve) => (started = resolve));
      let open!: (fail: boolean) => void;
      const gate = new Promise<boolean>((resolve) => (open = resolve));
      let calls = 0;
      replica.targetProducer.sendEncoded = async (batch) => {
        calls += 1;
        if (calls === 1) {
          started();
          if (await gate) throw new Error('broker refused the batch');
        }
        return original(batch);
      };
      return { publishing, open };
    };
    const messagesOf = (id: string) =>
      out
        .on(target)
        .filter((message) => message.key === id)
        .map((m) => [m.headers['message-id'], m.value?.toString()]);

    it('publishes the copy under way, then the replacement under a message-id of its own', async () => {
      await ctx.schedule('moved', Date.now());
      const { publishing, open } = await gatedReplica();
      await publishing;
      const dueAt = Date.now() + 300;
      const outcome = await ctx.store.schedule({
        id: 'moved',
        dueAt,
        record: replacement('moved'),
        ifPending: 'replace',
      });
      expect(outcome).toBe('rescheduled');
      open(false);
      await waitFor(() => (messagesOf('moved').length >= 2 ? true : undefined));
      const second = dispatchMessageId('moved', 1);
      expect(messagesOf('moved')).toEqual([
        ['moved', 'payload of moved'],
        [second, 'replacement of moved'],
      ]);
      expect(second).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const replacementArrived = out.on(target).find((m) => m.headers['message-id'] === second);
      expect(replacementArrived?.receivedAt).toBeGreaterThanOrEqual(dueAt);
      await waitFor(async () => ((await ctx.store.stats()).inFlight === 0 ? true : undefined));
      // The events reach the collector on their own time: wait for both, then compare.
      const dispatchedEvents = () =>
        decodeEvents(out.on(ctx.kafka.topics.events ?? ''))
          .filter((event) => event.message_id === 'moved')
          .map((event) => dispatchedOf(event)?.redelivered)
          .filter((redelivered) => redelivered !== undefined);
      await waitFor(() => (dispatchedEvents().length >= 2 ? true : undefined));
      expect(dispatchedEvents()).toEqual([false, false]);
      expect(messagesOf('moved')).toHaveLength(2);
    });

    it('publishes only the replacement when the publish under way fails', async () => {
      await ctx.schedule('retried', Date.now());
      const { publishing, open } = await gatedReplica();
      await publishing;
      const outcome = await ctx.store.schedule({
        id: 'retried',
        dueAt: Date.now(),
        record: replacement('retried'),
        ifPending: 'replace',
      });
      expect(outcome).toBe('rescheduled');
      open(true);
      await waitFor(() => (messagesOf('retried').length >= 1 ? true : undefined));
      await waitFor(async () => ((await ctx.store.stats()).inFlight === 0 ? true : undefined));
      expect(messagesOf('retried')).toEqual([[dispatchMessageId('retried', 1), 'replacement of retried']]);
      expect(await ctx.store.stats()).toEqual({ pending: 0, inFlight: 0 });
    });
  });
});
