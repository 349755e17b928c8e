import { uniqueName } from '@openpenpal/test-kit';
import { DLQ_HEADERS } from '@openpenpal/messaging';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  collect,
  decodeEvents,
  eventKind,
  reasonOf,
  scheduleRequest,
  startService,
  waitFor,
  type ServiceContext,
} from './service-support.ts';

const stack = inject('stack');

describe('a target topic that does not exist', () => {
  let ctx: ServiceContext;
  let out: Awaited<ReturnType<typeof collect>>;
  let target: string;
  const missing = uniqueName('t-missing');

  beforeAll(async () => {
    ctx = await startService(stack, {
      DELAY_QUEUE_TARGET_GIVE_UP_MS: '4000',
      DELAY_QUEUE_TOPIC_REFRESH_MS: '500',
      DELAY_QUEUE_TARGET_BACKOFF_MAX_MS: '1000',
      // The test's own topics and the missing one (all named t-…).
      DELAY_QUEUE_EXTRA_TOPICS: 't-*',
    });
    target = ctx.kafka.topics.target ?? '';
    out = await collect(ctx.kafka.kafka, [
      target,
      ctx.config.DELAY_QUEUE_EVENTS_TOPIC,
      `${ctx.config.DELAY_QUEUE_REQUESTS_TOPIC}.dlq`,
    ]);
  });
  afterAll(async () => {
    await out.close();
    await ctx.close();
  });

  it('holds back only its own messages, then rejects and dead-letters them, while every other target flows on time', async () => {
    const dueAt = Date.now() + 500;
    await ctx.send([
      scheduleRequest({ message_id: 'lost-1', due_at: dueAt, target_topic: missing }),
      ...Array.from({ length: 20 }, (_, i) =>
        scheduleRequest({ message_id: `fine-${i}`, due_at: dueAt + i * 100, target_topic: target }),
      ),
    ]);
    const arrived = await waitFor(() => (out.on(target).length >= 20 ? out.on(target) : undefined));
    // Every message for the healthy target arrives within a second of its time, once each.
    for (const message of arrived) {
      const index = Number(message.headers['message-id']?.replace('fine-', ''));
      expect(message.receivedAt - (dueAt + index * 100)).toBeLessThan(1_000);
    }
    expect(new Set(arrived.map((m) => m.headers['message-id'])).size).toBe(20);

    const eventsOf = (id: string) =>
      decodeEvents(out.on(ctx.config.DELAY_QUEUE_EVENTS_TOPIC)).filter((event) => event.message_id === id);
    const rejected = await waitFor(
      () => eventsOf('lost-1').find((event) => eventKind(event) === 'DelayedMessageRejected'),
      20_000,
    );
    expect(reasonOf(rejected)).toContain(missing);
    const [letter] = await waitFor(() => {
      const letters = out
        .on(`${ctx.config.DELAY_QUEUE_REQUESTS_TOPIC}.dlq`)
        .filter((m) => m.headers[DLQ_HEADERS.originalTopic] === missing);
      return letters.length > 0 ? letters : undefined;
    });
    expect(letter?.key).toBe('lost-1');
    expect(letter?.headers[DLQ_HEADERS.errorCode]).toBe('UNKNOWN_TOPIC');
    expect(letter?.value?.toString()).toBe('payload of lost-1');
    // Nothing was published twice, and the rejected message left the store.
    expect(out.on(target)).toHaveLength(20);
    expect(
      eventsOf('lost-1').filter((event) => eventKind(event) === 'DelayedMessageDispatched'),
    ).toHaveLength(0);
    await waitFor(async () => ((await ctx.queue.store.stats()).pending === 0 ? true : undefined));
  });
});
