import { startSpan } from '@openpenpal/telemetry';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@openpenpal/telemetry/otlp-receiver';
import { startTelemetry, type Telemetry } from '@openpenpal/telemetry/sdk';
import { uniqueName } from '@openpenpal/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  collect,
  decodeEvents,
  eventKind,
  scheduleRequest,
  startService,
  waitFor,
  type ServiceContext,
} from './service-support.ts';

const stack = inject('stack');

// The SDK exports to a real OTLP/HTTP receiver on loopback; the delay queue runs in this process.
let receiver: OtlpReceiver;
let telemetry: Telemetry;
let ctx: ServiceContext | undefined;
let out: Awaited<ReturnType<typeof collect>> | undefined;
const saved = { ...process.env };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  telemetry = startTelemetry({ serviceName: 'delay-queue-trace-test' });
});

afterAll(async () => {
  await out?.close();
  await ctx?.close();
  await telemetry.shutdown();
  process.env = saved;
  await receiver.close();
});

const parentOf = (traceparent: string | undefined) => {
  const [, traceId, spanId] = traceparent?.split('-') ?? [];
  return { traceId, spanId };
};

describe('delay queue events in traces', () => {
  it('publishes each message’s events in the trace of that message, although one send carries several traces', async () => {
    ctx = await startService(stack);
    const c = ctx;
    const target = c.kafka.topics.target ?? '';
    const eventsTopic = c.config.DELAY_QUEUE_EVENTS_TOPIC;
    out = await collect(c.kafka.kafka, [eventsTopic]);
    const o = out;
    // Two requesters, two traces, one due instant: the dispatcher claims both in one batch and
    // their Dispatched events go out in one coalesced send.
    const dueAt = Date.now() + 1_500;
    const ids = [uniqueName('m'), uniqueName('m')];
    const traceIds = await Promise.all(
      ids.map((id) =>
        startSpan('requester', async (span) => {
          await c.send([scheduleRequest({ message_id: id, due_at: dueAt, target_topic: target })]);
          return span.spanContext().traceId;
        }),
      ),
    );
    expect(traceIds[0]).not.toBe(traceIds[1]);

    const eventOf = (id: string, kind: string) =>
      o.on(eventsTopic).find((m) => {
        const [event] = decodeEvents([m]);
        return event?.message_id === id && eventKind(event) === kind;
      });
    await waitFor(() => (ids.every((id) => eventOf(id, 'DelayedMessageDispatched')) ? true : undefined));
    const spans = () => receiver.spans();
    const byId = (spanId: string | undefined) => spans().find((s) => s.spanId === spanId);
    await waitFor(() =>
      ids.every((id) => byId(parentOf(eventOf(id, 'DelayedMessageDispatched')?.headers.traceparent).spanId))
        ? true
        : undefined,
    );

    ids.forEach((id, i) => {
      const traceId = traceIds[i];
      // Scheduled: published by the intake inside the consume span of the request.
      const scheduled = parentOf(eventOf(id, 'DelayedMessageScheduled')?.headers.traceparent);
      expect(scheduled.traceId, `${id} scheduled trace`).toBe(traceId);
      const scheduledPublish = byId(scheduled.spanId);
      expect(scheduledPublish?.name).toBe(`${eventsTopic} publish`);
      expect(byId(scheduledPublish?.parentSpanId)?.name).toBe(
        `${c.config.DELAY_QUEUE_REQUESTS_TOPIC} process`,
      );

      // Dispatched: its publish span is the child of this message's dispatch span.
      const dispatched = parentOf(eventOf(id, 'DelayedMessageDispatched')?.headers.traceparent);
      expect(dispatched.traceId, `${id} dispatched trace`).toBe(traceId);
      const eventPublish = byId(dispatched.spanId) as ReceivedSpan;
      expect(eventPublish.name).toBe(`${eventsTopic} publish`);
      expect(eventPublish.kind).toBe(4);
      expect(eventPublish.attributes['messaging.destination.name']).toBe(eventsTopic);
      const dispatch = byId(eventPublish.parentSpanId);
      expect(dispatch?.name).toBe(`${target} publish`);
      expect(dispatch?.kind).toBe(4);
      expect(dispatch?.attributes['openpenpal.delayed_message.id']).toBe(id);
      expect(dispatch?.traceId).toBe(traceId);
    });
  });

  it('publishes the rejection of a message whose target never took it in the trace that scheduled it', async () => {
    const own = await startService(stack, {
      DELAY_QUEUE_TARGET_GIVE_UP_MS: '1500',
      DELAY_QUEUE_TOPIC_REFRESH_MS: '500',
      DELAY_QUEUE_TARGET_BACKOFF_MAX_MS: '500',
      DELAY_QUEUE_EXTRA_TOPICS: 't-*',
    });
    const events = await collect(own.kafka.kafka, [own.config.DELAY_QUEUE_EVENTS_TOPIC]);
    try {
      const id = uniqueName('lost');
      const traceId = await startSpan('requester', async (span) => {
        await own.send([
          scheduleRequest({
            message_id: id,
            due_at: Date.now() + 300,
            target_topic: uniqueName('t-missing'),
          }),
        ]);
        return span.spanContext().traceId;
      });
      const rejected = await waitFor(
        () =>
          events.on(own.config.DELAY_QUEUE_EVENTS_TOPIC).find((m) => {
            const [event] = decodeEvents([m]);
            return event?.message_id === id && eventKind(event) === 'DelayedMessageRejected';
          }),
        20_000,
      );
      const parent = parentOf(rejected.headers.traceparent);
      expect(parent.traceId).toBe(traceId);
      const publish = await waitFor(() => receiver.spans().find((s) => s.spanId === parent.spanId));
      expect(publish.name).toBe(`${own.config.DELAY_QUEUE_EVENTS_TOPIC} publish`);
      // Its parent is the span the request was processed in, when the message was scheduled.
      const intake = receiver.spans().find((s) => s.spanId === publish.parentSpanId);
      expect(intake?.name).toBe(`${own.config.DELAY_QUEUE_REQUESTS_TOPIC} process`);
    } finally {
      await events.close();
      await own.close();
    }
  });
});
