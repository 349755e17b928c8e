import { randomUUID } from 'node:crypto';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@openpenpal/telemetry/otlp-receiver';
import { startTelemetry, type Telemetry } from '@openpenpal/telemetry/sdk';
import { waitFor } from '@openpenpal/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, SERVICE_KEY, createApiWorld, type ApiWorld } from './world.ts';

const stack = inject('stack');
const BASE = '/api/v1/scheduler';

// The SDK exports to a real OTLP/HTTP receiver on loopback; the API and the delay queue run here.
let receiver: OtlpReceiver;
let telemetry: Telemetry;
let world: ApiWorld | undefined;
const saved = { ...process.env };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  telemetry = startTelemetry({ serviceName: 'api-trace-test' });
  world = await createApiWorld(stack, { delayQueue: true });
});

afterAll(async () => {
  await world?.close();
  await telemetry.shutdown();
  process.env = saved;
  await receiver.close();
});

const spans = () => receiver.spans();
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('HTTP server spans', () => {
  it('makes an API call that publishes a command the parent of the Kafka produce span, and continues the caller’s trace', async () => {
    const w = world as ApiWorld;
    const messageId = `api-trace:${randomUUID()}`;
    const response = await w.api.ops.app.inject({
      method: 'POST',
      url: `${BASE}/delayed-messages`,
      headers: { 'x-api-key': SERVICE_KEY, traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
      payload: {
        message_id: messageId,
        due_at: Date.now() + 3_600_000,
        target_topic: 'openpenpal.letters.future-letters',
        key: 'letter-9',
        value: {
          eventId: randomUUID(),
          occurredAt: Date.now(),
          event: {
            'org.openpenpal.platform.FutureLetterScheduled': {
              letterId: 'letter-9',
              scheduledAt: Date.now() + 7_200_000,
              timezone: null,
            },
          },
        },
      },
    });
    expect(response.statusCode).toBe(202);
    const requests = w.kafka.topics.requests ?? '';
    const named = (name: string) => spans().filter((s) => s.traceId === CALLER_TRACE && s.name === name);
    await waitFor(() => named(`${requests} process`).length > 0, {
      what: 'the delay queue consuming the request',
      timeoutMs: 20_000,
    });
    const [server] = named(`POST ${BASE}/delayed-messages`) as [ReceivedSpan];
    expect(server.kind).toBe(2);
    expect(server.parentSpanId).toBe(CALLER_SPAN);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': `${BASE}/delayed-messages`,
      'url.path': `${BASE}/delayed-messages`,
      'http.response.status_code': 202,
    });
    const [publish] = named(`${requests} publish`) as [ReceivedSpan];
    expect(publish.kind).toBe(4);
    expect(publish.parentSpanId).toBe(server.spanId);
    const [process] = named(`${requests} process`) as [ReceivedSpan];
    expect(process.parentSpanId).toBe(publish.spanId);
  });

  it('makes an event store read the child of the request that needed it, and a 404 is not an error', async () => {
    const w = world as ApiWorld;
    const id = randomUUID();
    const response = await w.api.ops.app.inject({ url: `${BASE}/executions/${id}`, headers: ADMIN });
    expect(response.statusCode).toBe(404);
    const route = `GET ${BASE}/executions/:id`;
    await waitFor(() => spans().some((s) => s.attributes['url.path'] === `${BASE}/executions/${id}`), {
      what: 'the request span',
      timeoutMs: 10_000,
    });
    const server = spans().find((s) => s.attributes['url.path'] === `${BASE}/executions/${id}`);
    expect(server?.name).toBe(route);
    expect(server?.parentSpanId).toBeUndefined();
    expect(server?.statusCode).toBe(0);
    expect(server?.attributes['http.response.status_code']).toBe(404);
    await waitFor(() => spans().some((s) => s.parentSpanId === server?.spanId), {
      what: 'the read span',
      timeoutMs: 10_000,
    });
    const read = spans().find((s) => s.parentSpanId === server?.spanId);
    expect(read?.name).toBe('event_store read_stream');
    expect(read?.attributes['db.collection.name']).toContain(id);
  });

  it('serves probes and scrapes without a trace of their own, but continues a caller’s trace', async () => {
    const w = world as ApiWorld;
    const before = spans().length;
    expect((await w.api.ops.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await w.api.ops.app.inject({ url: '/metrics' })).statusCode).toBe(200);
    const traceId = randomUUID().replaceAll('-', '');
    await w.api.ops.app.inject({
      url: '/healthz',
      headers: { traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
    });
    await waitFor(() => spans().some((s) => s.traceId === traceId), {
      what: 'the traced probe',
      timeoutMs: 10_000,
    });
    const probes = spans()
      .slice(before)
      .filter((s) => s.name === 'GET /healthz' || s.name === 'GET /metrics');
    expect(probes.map((s) => [s.name, s.traceId])).toEqual([['GET /healthz', traceId]]);
  });
});
