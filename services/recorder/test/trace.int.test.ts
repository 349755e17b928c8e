import { randomUUID } from 'node:crypto';
import { SpanKind, startSpan } from '@openpenpal/telemetry';
import { startOtlpReceiver, type OtlpReceiver } from '@openpenpal/telemetry/otlp-receiver';
import { startTelemetry, type Telemetry } from '@openpenpal/telemetry/sdk';
import { waitFor } from '@openpenpal/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRecorder, type RunningRecorder } from './in-process.ts';
import { countEvents, createRecorderWorld, executionLife, type RecorderWorld } from './support.ts';

const stack = inject('stack');

// A real OTLP/HTTP receiver on loopback (JSON export requests), standing in for a collector or Jaeger.
let receiver: OtlpReceiver;
let telemetry: Telemetry;
const saved = { ...process.env };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  telemetry = startTelemetry({ serviceName: 'recorder-trace-test' });
});

afterAll(async () => {
  await telemetry.shutdown();
  process.env = saved;
  await receiver.close();
});

describe('the recorder in a trace', () => {
  let world: RecorderWorld;
  let recorder: RunningRecorder | undefined;
  afterAll(async () => {
    await recorder?.close();
    await world.close();
  });

  it('consumes a published event inside its trace and appends it to the store in a child span', async () => {
    world = await createRecorderWorld(stack);
    recorder = await startRecorder(world);
    const [scheduled] = executionLife(randomUUID(), 'cleanup', 'succeeded');
    if (!scheduled) throw new Error('no execution event');
    const topic = world.kafka.topics.executions!;
    const traceId = await startSpan(
      'handler work',
      async (span) => {
        await world.producer.send({ topic, schema: 'ExecutionEvent' }, [
          { key: scheduled.execution_id, value: scheduled, messageId: scheduled.event_id },
        ]);
        return span.spanContext().traceId;
      },
      { kind: SpanKind.INTERNAL },
    );
    await waitFor(async () => (await countEvents(world.pg.pool, world.pg.schema)).total === 1, {
      what: 'the recorded event',
      timeoutMs: 30_000,
    });
    const spans = () => receiver.spans();
    await waitFor(() => spans().some((s) => s.name === 'event_store append'), {
      what: 'the append span',
      timeoutMs: 10_000,
    });
    const inTrace = spans().filter((s) => s.traceId === traceId);
    const find = (name: string) => inTrace.find((s) => s.name === name);
    const work = find('handler work');
    const publish = find(`${topic} publish`);
    const consume = find(`${topic} process`);
    const append = find('event_store append');
    expect(publish?.parentSpanId).toBe(work?.spanId);
    // The Kafka hop: the recorder's consume span is the producer span's child, in the same trace.
    expect(consume?.parentSpanId).toBe(publish?.spanId);
    expect(consume?.kind).toBe(SpanKind.CONSUMER + 1); // OTLP numbers kinds from 1 (0 is unspecified)
    expect(append?.parentSpanId).toBe(consume?.spanId);
    expect(append?.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.operation.name': 'append_many',
    });
  });
});
