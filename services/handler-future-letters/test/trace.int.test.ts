import { startSpan } from '@openpenpal/telemetry';
import { startOtlpReceiver, type OtlpReceiver } from '@openpenpal/telemetry/otlp-receiver';
import { startTelemetry, type Telemetry } from '@openpenpal/telemetry/sdk';
import { uniqueName, waitFor } from '@openpenpal/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { insertLetters, startLetterWorld, type LetterWorld } from './support.ts';

const stack = inject('stack');

// A real OTLP/HTTP receiver on loopback taking the SDK's JSON export requests (as a collector or
// Jaeger's OTLP port would); the services run in this process with the SDK pointed at it.
let receiver: OtlpReceiver;
let telemetry: Telemetry;
let world: LetterWorld | undefined;
const saved = { ...process.env };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  telemetry = startTelemetry({ serviceName: 'future-letters-trace-test' });
});

afterAll(async () => {
  await world?.close();
  await telemetry.shutdown();
  process.env = saved;
  await receiver.close();
});

const spans = () => receiver.spans();
const traceIdOf = (traceparent: string | undefined) => traceparent?.split('-')[1];
const spanIdOf = (traceparent: string | undefined) => traceparent?.split('-')[2];

describe('one trace', () => {
  it('covers platform event → handler → delay queue (across the wait) → handler → outbox → released topic', async () => {
    world = await startLetterWorld(stack);
    const env = world.env;
    const id = uniqueName('ltr');
    const at = Date.now() + 1_500;
    await insertLetters(world.pg, [
      {
        id,
        user_id: `owner-${id}`,
        recipient_id: `reader-${id}`,
        status: 'scheduled',
        scheduled_at: new Date(at),
      },
    ]);
    const w = world;
    const traceId = await startSpan('platform request', async (span) => {
      await w.publish(id, {
        'org.openpenpal.platform.FutureLetterScheduled': { letterId: id, scheduledAt: at, timezone: null },
      });
      return span.spanContext().traceId;
    });
    await waitFor(() => w.released.messages.some((m) => m.value?.letterId === id), {
      what: 'FutureLetterReleased',
      timeoutMs: 30_000,
    });
    const released = w.released.messages.find((m) => m.value?.letterId === id);
    const events = env.HANDLER_FUTURE_LETTER_UNLOCK_EVENTS_TOPIC!;
    const delays = env.HANDLER_DELAY_REQUESTS_TOPIC!;
    const triggers = env.HANDLER_TRIGGER_TOPIC!;
    const inTrace = () => spans().filter((s) => s.traceId === traceId);
    const named = (name: string) => inTrace().filter((s) => s.name === name);
    await waitFor(() => named(`${triggers} process`).length > 0, {
      what: 'the trigger process span',
      timeoutMs: 10_000,
    });

    // Every hop is a producer span and a consumer span that is its child, in the same trace.
    for (const topic of [events, delays, triggers]) {
      const publishes = named(`${topic} publish`);
      const processes = named(`${topic} process`);
      expect(publishes.length, `${topic} publish`).toBeGreaterThan(0);
      expect(processes.length, `${topic} process`).toBeGreaterThan(0);
      for (const consumer of processes) {
        expect(
          publishes.map((p) => p.spanId),
          `${topic} process parent`,
        ).toContain(consumer.parentSpanId);
      }
    }
    const ids = new Set(inTrace().map((s) => s.spanId));
    // The delay: the dispatch's publish is the child of a span of the trace that scheduled it.
    for (const dispatch of named(`${triggers} publish`)) expect(ids).toContain(dispatch.parentSpanId);
    // The outbox: the released event carries the trace context captured when the handler wrote it.
    expect(traceIdOf(released?.headers.traceparent)).toBe(traceId);
    expect(ids).toContain(spanIdOf(released?.headers.traceparent));
  });
});
