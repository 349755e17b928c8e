import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { startSpan } from '@openpenpal/telemetry';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { batchSubscription, createConsumerRunner, subscription, type ConsumerRunner } from '../src/index.ts';
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

  it('batch mode: a slice from one producer span continues its trace; a slice from several links each', async () => {
    const b = await setupMessagingTest(stack, 1);
    const groupId = b.ctx.groupId();
    const slices: { keys: string[]; traceId?: string }[] = [];
    const batchRunner = () =>
      createConsumerRunner({
        kafka: b.kafka,
        contracts,
        producer: b.producer,
        logger,
        groupId,
        subscriptions: [
          batchSubscription(b.binding, (messages) => {
            slices.push({
              keys: messages.map((m) => m.key ?? ''),
              traceId: trace.getActiveSpan()?.spanContext().traceId,
            });
            return Promise.resolve(undefined);
          }),
        ],
      });
    const processSpans = () =>
      exporter.getFinishedSpans().filter((s) => s.name === `${b.binding.topic} process`);
    const publishSpanOf = (traceId: string) =>
      exporter
        .getFinishedSpans()
        .find((s) => s.name === `${b.binding.topic} publish` && s.spanContext().traceId === traceId);
    let batch = batchRunner();
    try {
      await batch.start();
      const solo = await startSpan('solo request', async (span) => {
        await b.producer.send(b.binding, [{ key: 'solo', value: trigger('solo', 1) }]);
        return span.spanContext().traceId;
      });
      await waitFor(() => processSpans().length === 1, 20_000, 'the solo slice');
      expect(slices).toEqual([{ keys: ['solo'], traceId: solo }]);
      const [soloSpan] = processSpans();
      expect(soloSpan?.spanContext().traceId).toBe(solo);
      expect(soloSpan?.parentSpanContext?.spanId).toBe(publishSpanOf(solo)?.spanContext().spanId);
      // A child only: a link to its own parent made Jaeger show the parent as FOLLOWS_FROM.
      expect(soloSpan?.links).toEqual([]);
      await batch.close();

      // Two messages of two traces wait in Kafka, so the next fetch hands them over as one slice.
      const others: string[] = [];
      for (const key of ['b', 'c']) {
        others.push(
          await startSpan(`${key} request`, async (span) => {
            await b.producer.send(b.binding, [{ key, value: trigger(key, 1) }]);
            return span.spanContext().traceId;
          }),
        );
      }
      batch = batchRunner();
      await batch.start();
      await waitFor(() => processSpans().length === 2, 20_000, 'the shared slice');
      expect(slices[1]?.keys).toEqual(['b', 'c']);
      const shared = processSpans()[1];
      expect(shared?.parentSpanContext).toBeUndefined();
      expect(others).not.toContain(shared?.spanContext().traceId);
      expect(shared?.links.map((l) => l.context.spanId)).toEqual(
        others.map((traceId) => publishSpanOf(traceId)?.spanContext().spanId),
      );
    } finally {
      await batch.close();
      await b.close();
    }
  });
});
