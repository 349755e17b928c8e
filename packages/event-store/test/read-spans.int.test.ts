import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { EventStoreDBClient } from '@eventstore/db-client';
import { startSpan } from '@openpenpal/telemetry';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@openpenpal/telemetry/otlp-receiver';
import { startTelemetry, type Telemetry } from '@openpenpal/telemetry/sdk';
import { createPgTestContext, waitFor, type PgTestContext } from '@openpenpal/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createEsdbEventStore, createPostgresEventStore, type PostgresEventStore } from '../src/index.ts';

const stack = inject('stack');

// The SDK exports to a real OTLP/HTTP receiver on loopback.
let receiver: OtlpReceiver;
let telemetry: Telemetry;
const saved = { ...process.env };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  telemetry = startTelemetry({ serviceName: 'event-store-trace-test' });
});

afterAll(async () => {
  await telemetry.shutdown();
  process.env = saved;
  await receiver.close();
});

const inTrace = (traceId: string) => receiver.spans().filter((s) => s.traceId === traceId);

describe('event store read spans', () => {
  let ctx: PgTestContext;
  let store: PostgresEventStore;
  beforeAll(async () => {
    ctx = await createPgTestContext(stack);
    store = createPostgresEventStore({ pool: ctx.pool, schema: ctx.schema });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await ctx.close();
  });

  it('makes each PostgreSQL read inside a span a client span with the database conventions, and none outside one', async () => {
    const stream = `letter-${randomUUID()}`;
    const event = () => ({ id: randomUUID(), type: 'LetterSent', data: { n: 1 } });
    await store.append(stream, [event(), event()]);
    // Outside any span: only the read.
    expect(await store.readStream(stream)).toHaveLength(2);
    const { traceId, spanId } = await startSpan('request', async (span) => {
      expect(await store.readStream(stream)).toHaveLength(2);
      await store.readCategory('letter', { maxCount: 1 });
      await store.readAll({ maxCount: 1 });
      return { traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
    });
    await waitFor(() => inTrace(traceId).length >= 3, { what: 'three read spans', timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const reads = receiver.spans().filter((s) => s.name.startsWith('event_store read'));
    expect(reads.map((s) => s.name).sort()).toEqual([
      'event_store read_all',
      'event_store read_category',
      'event_store read_stream',
    ]);
    for (const read of reads) {
      expect(read.traceId).toBe(traceId);
      expect(read.parentSpanId).toBe(spanId);
      expect(read.kind).toBe(3);
      expect(read.attributes['db.system.name']).toBe('postgresql');
      expect(read.attributes['db.namespace']).toBe(ctx.schema);
    }
    const byName = (name: string) => reads.find((s) => s.name === name) as ReceivedSpan;
    expect(byName('event_store read_stream').attributes).toMatchObject({
      'db.operation.name': 'read_stream',
      'db.collection.name': stream,
      'db.response.returned_rows': 2,
    });
    expect(byName('event_store read_category').attributes).toMatchObject({
      'db.operation.name': 'read_category',
      'db.collection.name': 'letter',
      'db.response.returned_rows': 1,
    });
  });

  it('makes an EventStoreDB read a client span too, recording the error when the server cannot be reached', async () => {
    // A port that accepts nothing an EventStoreDB client understands: the read fails fast.
    const server: Server = createServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const client = EventStoreDBClient.connectionString(
      `esdb://127.0.0.1:${port}?tls=false&discoveryInterval=10&maxDiscoverAttempts=1&defaultDeadline=2000`,
    );
    const esdb = createEsdbEventStore({ client });
    try {
      const traceId = await startSpan('request', async (span) => {
        await expect(esdb.readStream('letter-1')).rejects.toThrow();
        return span.spanContext().traceId;
      });
      await waitFor(() => inTrace(traceId).some((s) => s.name === 'event_store read_stream'), {
        what: 'the EventStoreDB read span',
        timeoutMs: 10_000,
      });
      const read = inTrace(traceId).find((s) => s.name === 'event_store read_stream');
      expect(read?.attributes).toMatchObject({
        'db.system.name': 'eventstoredb',
        'db.operation.name': 'read_stream',
        'db.collection.name': 'letter-1',
      });
      expect(read?.statusCode).toBe(2);
    } finally {
      await esdb.close();
      await client.dispose();
      server.close();
    }
  });
});
