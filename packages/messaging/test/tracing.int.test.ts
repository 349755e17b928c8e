import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { startSpan } from '@openpenpal/telemetry';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createConsumerRunner, subscription, type ConsumerRunner } from '../src/index.ts';
import { contracts, logger, setupMessagingTest, trigger, waitFor, type MessagingTest } from './support.ts';

const stack = inject('stack');
const exporter = new InMemorySpanExporter();

describe('trace context', () => {
  let t: MessagingTest;
  let runner: ConsumerRunner;
  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    );
    t = await setupMessagingTest(stack);
  });
  afterAll(async () => {
    await runner.close();
    await t.close();
  });

  it('continues the producer trace in the consumer span across a Kafka hop', async () => {
    const traceId = await startSpan('api request', async (span) => {
      await t.producer.send(t.binding, [{ key: 'trace', value: trigger('trace', 1) }]);
      return span.spanContext().traceId;
    });
    const seen: { traceId?: string; traceparent?: string } = {};
    runner = createConsumerRunner({
      kafka: t.kafka,
      contracts,
      producer: t.producer,
      logger,
      groupId: t.ctx.groupId(),
      subscriptions: [
        subscription(t.binding, (m) => {
          seen.traceId = trace.getActiveSpan()?.spanContext().traceId;
          seen.traceparent = m.headers.traceparent;
          return Promise.resolve();
        }),
      ],
    });
    await runner.start();
    await waitFor(() => seen.traceId !== undefined, 20_000, 'the message');
    expect(seen.traceId).toBe(traceId);
    expect(seen.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const spans = exporter.getFinishedSpans();
    const publish = spans.find((s) => s.name === `${t.binding.topic} publish`);
    await waitFor(
      () => exporter.getFinishedSpans().some((s) => s.name === `${t.binding.topic} process`),
      5_000,
      'process span',
    );
    const processSpan = exporter.getFinishedSpans().find((s) => s.name === `${t.binding.topic} process`);
    expect(publish?.spanContext().traceId).toBe(traceId);
    expect(processSpan?.parentSpanContext?.spanId).toBe(publish?.spanContext().spanId);
  });
});
