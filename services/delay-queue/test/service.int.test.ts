import { DLQ_HEADERS } from '@openpenpal/messaging';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  cancelRequest,
  collect,
  decodeEvents,
  dispatchedOf,
  eventKind,
  eventOutcome,
  reasonOf,
  scheduleRequest,
  startService,
  unionMessageId,
  waitFor,
  type ServiceContext,
} from './service-support.ts';

const stack = inject('stack');

describe('delay queue service', () => {
  let ctx: ServiceContext;
  let out: Awaited<ReturnType<typeof collect>>;
  let target: string;
  let other: string;
  const eventsFor = (id: string) =>
    decodeEvents(out.on(ctx.config.DELAY_QUEUE_EVENTS_TOPIC)).filter((event) => event.message_id === id);

  beforeAll(async () => {
    ctx = await startService(stack);
    target = ctx.kafka.topics.target ?? '';
    other = ctx.kafka.topics.other ?? '';
    out = await collect(ctx.kafka.kafka, [
      target,
      other,
      ctx.config.DELAY_QUEUE_EVENTS_TOPIC,
      `${ctx.config.DELAY_QUEUE_REQUESTS_TOPIC}.dlq`,
    ]);
  });
  afterAll(async () => {
    await out.close();
    await ctx.close();
  });

  it('publishes a due message with its key, headers and payload, and its id as message-id', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const dueAt = Date.now() + 300;
    await ctx.send([
      scheduleRequest({
        message_id: 'first',
        due_at: dueAt,
        target_topic: target,
        target_key: 'key-1',
        headers: { traceparent: Buffer.from(traceparent), 'x-custom': Buffer.from([1, 2, 3]) },
        payload: Buffer.from([0, 1, 2, 255]),
      }),
    ]);
    const [message] = await waitFor(() => (out.on(target).length > 0 ? out.on(target) : undefined));
    expect(message?.receivedAt).toBeGreaterThanOrEqual(dueAt);
    expect(message?.key).toBe('key-1');
    expect(message?.value?.equals(Buffer.from([0, 1, 2, 255]))).toBe(true);
    expect(message?.headers).toMatchObject({
      traceparent,
      'x-custom': '\u0001\u0002\u0003',
      'message-id': 'first',
    });

    const events = await waitFor(() => (eventsFor('first').length >= 2 ? eventsFor('first') : undefined));
    expect(events.map(eventKind)).toEqual(['DelayedMessageScheduled', 'DelayedMessageDispatched']);
    const dispatched = dispatchedOf(events[1]);
    expect(dispatched).toMatchObject({ due_at: dueAt, target_topic: target, redelivered: false });
    expect(dispatched?.lateness_ms).toBe((dispatched?.dispatched_at ?? 0) - dueAt);
    expect(dispatched?.lateness_ms).toBeGreaterThanOrEqual(0);
  });

  it('keeps one copy of an id scheduled twice and says a cancel after the publish came too late', async () => {
    const request = { message_id: 'twice', due_at: Date.now() + 300, target_topic: other };
    await ctx.send([scheduleRequest(request), scheduleRequest(request)]);
    await waitFor(() => (out.on(other).some((m) => m.headers['message-id'] === 'twice') ? true : undefined));
    await ctx.send([cancelRequest('twice')]);
    const events = await waitFor(() => (eventsFor('twice').length >= 4 ? eventsFor('twice') : undefined));
    expect(events.map(eventOutcome)).toEqual([
      'scheduled',
      'duplicate',
      'DelayedMessageDispatched',
      'already_fired',
    ]);
    expect(out.on(other).filter((m) => m.headers['message-id'] === 'twice')).toHaveLength(1);
  });

  it('cancels a pending message so it never goes out', async () => {
    const now = Date.now();
    await ctx.send([
      scheduleRequest({ message_id: 'cancelled', due_at: now + 800, target_topic: other }),
      cancelRequest('cancelled', 'letter withdrawn'),
      scheduleRequest({ message_id: 'after-cancelled', due_at: now + 1_000, target_topic: other }),
    ]);
    await waitFor(() =>
      out.on(other).some((m) => m.headers['message-id'] === 'after-cancelled') ? true : undefined,
    );
    expect(out.on(other).some((m) => m.headers['message-id'] === 'cancelled')).toBe(false);
    const cancelled = await waitFor(() =>
      eventsFor('cancelled').find((event) => eventKind(event) === 'DelayedMessageCancelled'),
    );
    expect(eventOutcome(cancelled)).toBe('cancelled');
    expect(reasonOf(cancelled)).toBe('letter withdrawn');
  });

  it('dead-letters invalid requests with the reason, reports them, and carries on', async () => {
    const now = Date.now();
    const bad = [
      scheduleRequest({ message_id: 'bad-negative', due_at: -5, target_topic: target }),
      scheduleRequest({ message_id: 'bad-far', due_at: now + 20 * 366 * 86_400_000, target_topic: target }),
      scheduleRequest({ message_id: 'bad-empty-topic', due_at: now, target_topic: '' }),
      scheduleRequest({ message_id: 'bad-unknown-topic', due_at: now, target_topic: 'openpenpal.nowhere' }),
      scheduleRequest({
        message_id: 'bad-big',
        due_at: now,
        target_topic: target,
        payload: Buffer.alloc(70_000),
      }),
    ];
    await ctx.send([
      ...bad,
      scheduleRequest({ message_id: 'good-after-bad', due_at: now, target_topic: target }),
    ]);
    await waitFor(() =>
      out.on(target).some((m) => m.headers['message-id'] === 'good-after-bad') ? true : undefined,
    );
    const dlq = await waitFor(() => {
      const found = out.on(`${ctx.config.DELAY_QUEUE_REQUESTS_TOPIC}.dlq`);
      return found.length >= bad.length ? found : undefined;
    });
    const codes = Object.fromEntries(
      dlq.map((m) => [m.key ?? '', m.headers[DLQ_HEADERS.errorCode] ?? ''] as const),
    );
    expect(codes).toEqual({
      'bad-negative': 'VALIDATION_FAILED',
      'bad-far': 'VALIDATION_FAILED',
      'bad-empty-topic': 'VALIDATION_FAILED',
      'bad-unknown-topic': 'UNKNOWN_TOPIC',
      'bad-big': 'PAYLOAD_TOO_LARGE',
    });
    for (const m of dlq) expect(m.headers[DLQ_HEADERS.attempts]).toBe('1');
    const rejected = await waitFor(() => {
      const found = bad.flatMap((r) => eventsFor(unionMessageId(r)));
      return found.length >= bad.length ? found : undefined;
    });
    expect(rejected.map(eventKind)).toEqual(Array(bad.length).fill('DelayedMessageRejected'));
    expect(reasonOf(rejected[3])).toContain('openpenpal.nowhere');
    expect(out.on(target).some((m) => m.headers['message-id']?.startsWith('bad-'))).toBe(false);
  });

  it('serves health, readiness and Prometheus metrics', async () => {
    const url = ctx.service.ops.url();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { 'redis:commands': true, 'redis:wakeups': true, kafka: true, 'consumer:intake': true },
    });
    await ctx.send([
      scheduleRequest({ message_id: 'pending-far', due_at: Date.now() + 3_600_000, target_topic: target }),
    ]);
    const metrics = await waitFor(async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return /^scheduler_delay_queue_pending\{service="delay-queue"\} 1$/m.test(text) ? text : undefined;
    });
    for (const name of [
      'scheduler_delay_queue_in_flight{service="delay-queue"} 0',
      `scheduler_delay_queue_dispatched_total{topic="${target}",service="delay-queue"}`,
      'scheduler_delay_queue_dispatch_lateness_seconds_bucket',
      'scheduler_delay_queue_redelivered_total{service="delay-queue"} 0',
      'scheduler_delay_queue_rejected_total{code="UNKNOWN_TOPIC",service="delay-queue"} 1',
    ]) {
      expect(metrics).toContain(name);
    }
  });
});
