import { startSpan } from '@openpenpal/telemetry';
import { startOtlpReceiver, type OtlpReceiver } from '@openpenpal/telemetry/otlp-receiver';
import { startTelemetry, type Telemetry } from '@openpenpal/telemetry/sdk';
import { fastify } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpsApp, httpTracing } from '../src/index.ts';

// The SDK exports to a real OTLP/HTTP receiver on loopback.
let receiver: OtlpReceiver;
let telemetry: Telemetry;
const saved = { ...process.env };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '20';
  telemetry = startTelemetry({ serviceName: 'http-tracing-test' });
});

afterAll(async () => {
  await telemetry.shutdown();
  process.env = saved;
  await receiver.close();
});

async function until<T>(probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i += 1) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('spans did not arrive');
}

describe('HTTP server spans', () => {
  it('runs a handler inside its request’s span, after the body was read, and marks a 5xx as an error', async () => {
    const app = fastify();
    await app.register(httpTracing);
    app.post<{ Body: { n: number } }>('/things/:id', async (request) => {
      await startSpan('inner work', () => Promise.resolve());
      return { doubled: request.body.n * 2 };
    });
    app.get('/broken', () => {
      throw new Error('boom');
    });
    // Over a real socket, the body sent a while after the headers: it arrives in later socket
    // events, outside the context the request's hooks ran in.
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        controller.enqueue(new TextEncoder().encode(JSON.stringify({ n: 21 })));
        controller.close();
      },
    });
    const ok = await fetch(`${base}/things/7?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    });
    expect(await ok.json()).toEqual({ doubled: 42 });
    expect((await fetch(`${base}/broken`)).status).toBe(500);
    await app.close();

    const server = await until(() => receiver.spans().find((s) => s.name === 'POST /things/:id'));
    expect(server.kind).toBe(2);
    expect(server.parentSpanId).toBeUndefined();
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/things/:id',
      'url.path': '/things/7',
      'url.scheme': 'http',
      'http.response.status_code': 200,
    });
    const inner = receiver.spans().find((s) => s.name === 'inner work');
    expect(inner?.parentSpanId).toBe(server.spanId);
    expect(inner?.traceId).toBe(server.traceId);
    const broken = await until(() => receiver.spans().find((s) => s.name === 'GET /broken'));
    expect(broken.statusCode).toBe(2);
    expect(broken.attributes['error.type']).toBe('500');
  });

  it('serves the ops routes without starting traces, and continues a caller’s trace through them', async () => {
    const app = buildOpsApp({ registry: new Registry(), checks: [], logger: pino({ level: 'silent' }) });
    await app.inject({ url: '/readyz' });
    await app.inject({ url: '/metrics' });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await app.inject({ url: '/readyz', headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await app.close();
    const traced = await until(() => receiver.spans().find((s) => s.name === 'GET /readyz'));
    expect(traced.traceId).toBe(traceId);
    expect(traced.parentSpanId).toBe('00f067aa0ba902b7');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(
      receiver.spans().filter((s) => s.name === 'GET /readyz' || s.name === 'GET /metrics'),
    ).toHaveLength(1);
  });
});
