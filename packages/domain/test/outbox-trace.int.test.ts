import { createContracts } from '@openpenpal/contracts';
import { sampleTrigger } from '@openpenpal/contracts/samples';
import { createProducer, type Producer } from '@openpenpal/messaging';
import { SpanKind, startSpan } from '@openpenpal/telemetry';
import { startOtlpReceiver, type OtlpReceiver } from '@openpenpal/telemetry/otlp-receiver';
import { startTelemetry, type Telemetry } from '@openpenpal/telemetry/sdk';
import {
  collectTopics,
  createKafkaTestContext,
  createPgTestContext,
  waitFor,
  type KafkaTestContext,
  type PgTestContext,
} from '@openpenpal/test-kit';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createOutboxRelay, enqueueOutbox, inTransaction, migrateDomain } from '../src/index.ts';

const stack = inject('stack');
const contracts = createContracts();
const logger = pino({ level: 'silent' });

// A real OTLP/HTTP receiver on loopback (JSON exports), standing in for a collector or Jaeger.
let receiver: OtlpReceiver;
let telemetry: Telemetry;
let kafka: KafkaTestContext;
let pg: PgTestContext;
let producer: Producer;
const saved = { ...process.env };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  telemetry = startTelemetry({ serviceName: 'outbox-trace-test' });
  kafka = await createKafkaTestContext(stack, { out: 3 });
  pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  producer = createProducer({ kafka: kafka.kafka, contracts, logger });
});

afterAll(async () => {
  await producer.close();
  await kafka.close();
  await pg.close();
  await telemetry.shutdown();
  process.env = saved;
  await receiver.close();
});

describe('the outbox relay in a trace', () => {
  it('sends each change in a producer span of its own trace, and the message carries that span', async () => {
    const topic = kafka.topics.out!;
    const out = await collectTopics(kafka.kafka, [topic]);
    // Two changes in two traces, relayed together in one send.
    const changes = await Promise.all(
      ['a', 'b'].map((key) =>
        startSpan(
          `change ${key}`,
          async (span) => {
            await inTransaction(pg.pool, 'a traced change', async (client) => {
              const batch = producer.encode({ topic, schema: 'TaskTrigger' }, [
                { key, value: sampleTrigger({ task_id: key, attempt: 1 }) },
                { key, value: sampleTrigger({ task_id: key, attempt: 2 }) },
              ]);
              await enqueueOutbox(client, pg.schema, [batch]);
            });
            return { key, traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
          },
          { kind: SpanKind.INTERNAL },
        ),
      ),
    );
    const relay = createOutboxRelay({
      pool: pg.pool,
      schema: pg.schema,
      producer,
      logger,
      registry: new Registry(),
      batchSize: 100,
      pollMs: 200,
    });
    relay.start();
    try {
      await waitFor(() => out.messages.length === 4, { what: 'the 4 relayed messages', timeoutMs: 30_000 });
      await waitFor(() => receiver.spans().filter((s) => s.name === `${topic} publish`).length >= 2, {
        what: 'the relay spans',
        timeoutMs: 10_000,
      });
    } finally {
      await relay.close();
    }
    for (const change of changes) {
      const relaySpans = receiver
        .spans()
        .filter((s) => s.traceId === change.traceId && s.parentSpanId === change.spanId);
      // The change's encode wrote its context; the relay's span is its child, one per trace.
      const publish = relaySpans.filter((s) => s.name === `${topic} publish`);
      expect(publish).toHaveLength(1);
      expect(publish[0]?.kind).toBe(SpanKind.PRODUCER + 1); // OTLP numbers kinds from 1
      expect(publish[0]?.attributes).toMatchObject({ 'messaging.batch.message_count': 2 });
      const carried = out.messages
        .filter((m) => m.key === change.key)
        .map((m) => m.headers.traceparent?.split('-').slice(1, 3).join('-'));
      expect(carried).toEqual([
        `${change.traceId}-${publish[0]?.spanId}`,
        `${change.traceId}-${publish[0]?.spanId}`,
      ]);
    }
    await out.close();
  });
});
