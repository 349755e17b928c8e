import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTracingEnabled, startSpan, traceLogFields } from '../src/index.ts';
import { startTelemetry, type Telemetry } from '../src/sdk.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}
interface OtlpExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

// A real OTLP/HTTP receiver on loopback taking JSON export requests, as a collector would.
const requests: { path: string; contentType: string | undefined; token: unknown; body: string }[] = [];
let server: Server;
let telemetry: Telemetry | undefined;
const saved = { ...process.env };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        token: req.headers['x-test-token'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

afterAll(async () => {
  await telemetry?.shutdown();
  process.env = saved;
  server.close();
  await once(server, 'close');
});

describe('startTelemetry', () => {
  it('exports spans over OTLP http/json to the configured endpoint, with the resource attributes and parent links', async () => {
    const { port } = server.address() as AddressInfo;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-test-token=abc';
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment.name=test';
    process.env.OTEL_TRACES_SAMPLER = 'always_on';
    delete process.env.OTEL_SERVICE_NAME;
    delete process.env.OTEL_TRACES_EXPORTER;
    delete process.env.OTEL_METRICS_EXPORTER;
    delete process.env.OTEL_LOGS_EXPORTER;
    expect(isTracingEnabled()).toBe(false);
    telemetry = startTelemetry({ serviceName: 'telemetry-test' });
    expect(isTracingEnabled()).toBe(true);

    // A producer span whose context travels in message headers to a consumer span.
    const headers: Record<string, string> = {};
    await startSpan(
      'tasks publish',
      () => {
        propagation.inject(context.active(), headers);
        return Promise.resolve();
      },
      { kind: SpanKind.PRODUCER },
    );
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const parent = propagation.extract(ROOT_CONTEXT, headers);
    expect(traceLogFields()).toEqual({});
    let logged: ReturnType<typeof traceLogFields> = {};
    await startSpan(
      'tasks process',
      async () => {
        logged = await startSpan('work', () => Promise.resolve(traceLogFields()));
      },
      { kind: SpanKind.CONSUMER, parent },
    );
    await telemetry.shutdown();

    const traces = requests.filter((r) => r.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    expect(traces[0]?.contentType).toContain('application/json');
    expect(traces[0]?.token).toBe('abc');
    // No metric or log exporter was made: nothing else was sent, not even at shutdown.
    expect(requests.filter((r) => r.path !== '/v1/traces')).toEqual([]);

    const exports = traces.map((r) => JSON.parse(r.body) as OtlpExport);
    const resource = exports[0]?.resourceSpans[0]?.resource.attributes ?? [];
    const attr = (key: string) => resource.find((a) => a.key === key)?.value.stringValue;
    expect(attr('service.name')).toBe('telemetry-test');
    expect(attr('deployment.environment.name')).toBe('test');
    const spans = exports.flatMap((e) =>
      e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
    );
    const byName = new Map(spans.map((s) => [s.name, s]));
    const publish = byName.get('tasks publish');
    const processSpan = byName.get('tasks process');
    const work = byName.get('work');
    expect(publish && processSpan && work).toBeTruthy();
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    expect(processSpan?.parentSpanId).toBe(publish?.spanId);
    expect(work?.parentSpanId).toBe(processSpan?.spanId);
    expect(trace.getSpanContext(parent)?.spanId).toBe(publish?.spanId);
    // A log line written inside a span carries that span's ids.
    expect(logged).toEqual({ trace_id: work?.traceId, span_id: work?.spanId });
  });
});
