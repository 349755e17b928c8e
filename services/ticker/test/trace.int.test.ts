import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unionBranch, type ExecutionEvent } from '@openpenpal/contracts';
import { startTelemetry, type Telemetry } from '@openpenpal/telemetry/sdk';
import { collectTopics, waitFor, type CollectedMessage } from '@openpenpal/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { contracts, createTickerWorld, type TickerWorld } from './int-support.ts';
import { definition } from './support.ts';

const stack = inject('stack');

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}
interface OtlpExport {
  resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
}

// A real OTLP/HTTP receiver on loopback (JSON export requests), standing in for a collector or Jaeger.
const exports: OtlpExport[] = [];
let server: Server;
let telemetry: Telemetry;
const saved = { ...process.env };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces')
        exports.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  telemetry = startTelemetry({ serviceName: 'ticker-trace-test' });
});

afterAll(async () => {
  await telemetry.shutdown();
  process.env = saved;
  server.close();
});

/** The trace id of the W3C `traceparent` header a producer wrote (`00-<trace>-<span>-<flags>`). */
const traceOf = (message: CollectedMessage<unknown>) => message.headers.traceparent?.split('-')[1];
const spanOf = (message: CollectedMessage<unknown>) => message.headers.traceparent?.split('-')[2];

describe('the ticker in a trace', () => {
  let world: TickerWorld;
  afterAll(async () => {
    await world.close();
  });

  it('publishes the execution events of a fire instant inside the trace of that instant’s triggers', async () => {
    world = await createTickerWorld(stack);
    await world.producer.send({ topic: world.definitionsTopic, schema: 'TaskDefinition' }, [
      { key: 'allowed', value: definition('allowed') },
      // forbid, and nothing reports the first execution finished: every later second is skipped.
      { key: 'forbidden', value: definition('forbidden', { concurrency_policy: 'forbid' }) },
    ]);
    const triggers = await world.collectTriggers(['letter_cleanup']);
    const codec = contracts.codec('ExecutionEvent');
    const events = await collectTopics<ExecutionEvent>(world.kafka, [world.eventsTopic], (bytes) =>
      codec.decode(bytes),
    );
    try {
      await world.start({ INSTANCE_ID: 'trace-test', LOG_LEVEL: 'silent' });
      const kindOf = (m: CollectedMessage<ExecutionEvent>) =>
        m.value ? unionBranch(m.value.event).name.split('.').at(-1) : undefined;
      await waitFor(() => events.messages.filter((m) => kindOf(m) === 'ExecutionSkipped').length >= 2, {
        what: 'two skipped seconds of the forbid task',
        timeoutMs: 20_000,
      });

      // Every trigger's TaskTriggered event is in the trigger's trace.
      const fired = triggers.messages.filter((m) => m.value?.task_id === 'allowed');
      expect(fired.length).toBeGreaterThanOrEqual(2);
      for (const trigger of fired) {
        const event = events.messages.find(
          (m) => kindOf(m) === 'TaskTriggered' && m.value?.execution_id === trigger.value?.execution_id,
        );
        expect(event, `TaskTriggered of ${trigger.value?.execution_id}`).toBeDefined();
        expect(traceOf(trigger)).toMatch(/^[0-9a-f]{32}$/);
        expect(traceOf(event!)).toBe(traceOf(trigger));
      }
      // A skipped execution is recorded in the trace of its instant, where the allowed task fired.
      const skipped = events.messages.filter((m) => kindOf(m) === 'ExecutionSkipped');
      const paired = skipped.flatMap((m) => {
        const sameInstant = fired.find((t) => t.value?.nominal_time === m.value?.occurred_at);
        return sameInstant ? [{ skipped: m, trigger: sameInstant }] : [];
      });
      expect(paired.length).toBeGreaterThanOrEqual(1);
      for (const { skipped: m, trigger } of paired) expect(traceOf(m)).toBe(traceOf(trigger));

      // The exported spans: the triggers and their TaskTriggered events carry the instant's fire
      // span (the events are encoded inside it, with the triggers, and sent after the ack).
      const spans = () =>
        exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
      const first = fired[0]!;
      await waitFor(() => spans().some((s) => s.spanId === spanOf(first)), {
        what: 'the fire span of the first trigger',
        timeoutMs: 10_000,
      });
      const fire = spans().find((s) => s.spanId === spanOf(first));
      expect(fire?.name).toBe('ticker fire');
      expect(fire?.traceId).toBe(traceOf(first));
      const firstEvent = events.messages.find(
        (m) => kindOf(m) === 'TaskTriggered' && m.value?.execution_id === first.value?.execution_id,
      );
      expect(spanOf(firstEvent!)).toBe(fire?.spanId);
    } finally {
      await events.close();
    }
  });
});
