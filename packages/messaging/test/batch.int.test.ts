import type { TaskTrigger } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  DLQ_HEADERS,
  batchSubscription,
  createConsumerRunner,
  headerText,
  type BatchHandler,
  type ConsumerRunner,
} from '../src/index.ts';
import {
  committedOffsets,
  contracts,
  logger,
  readAll,
  setupMessagingTest,
  trigger,
  waitFor,
  type MessagingTest,
} from './support.ts';

const stack = inject('stack');

describe('consumer runner in batch mode', () => {
  let t: MessagingTest;
  const runners: ConsumerRunner[] = [];
  beforeEach(async () => {
    t = await setupMessagingTest(stack, 1);
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.close()));
    await t.close();
  });

  const run = async (groupId: string, handler: BatchHandler<TaskTrigger>, maxBatchSize?: number) => {
    const runner = createConsumerRunner({
      kafka: t.kafka,
      contracts,
      producer: t.producer,
      logger,
      groupId,
      subscriptions: [batchSubscription(t.binding, handler, maxBatchSize ? { maxBatchSize } : {})],
      retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 50 },
    });
    runners.push(runner);
    await runner.start();
    return runner;
  };

  it('hands a fetched batch to one call in slices of at most maxBatchSize, in order, and commits after it', async () => {
    await t.producer.send(
      t.binding,
      Array.from({ length: 50 }, (_, i) => ({ key: 'k', value: trigger('k', i + 1) })),
    );
    const calls: number[][] = [];
    const groupId = t.ctx.groupId();
    const runner = await run(
      groupId,
      (messages) => {
        calls.push(messages.map((m) => m.value.attempt));
        return Promise.resolve(undefined);
      },
      20,
    );
    await waitFor(() => calls.flat().length === 50, 20_000, '50 messages');
    await runner.close();
    expect(calls.flat()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(Math.max(...calls.map((c) => c.length))).toBeLessThanOrEqual(20);
    expect(calls.length).toBeLessThan(50);
    expect(await committedOffsets(t.kafka, groupId, t.binding.topic)).toEqual({ 0: '50' });
  });

  it('dead-letters undecodable values and the messages a handler rejects, and processes the rest', async () => {
    await t.producer.sendRaw(t.binding.topic, [{ key: 'k', value: Buffer.from('not avro') }]);
    await t.producer.send(
      t.binding,
      [1, 2, 3].map((attempt) => ({ key: 'k', value: trigger('k', attempt) })),
    );
    const seen: number[] = [];
    await run(t.ctx.groupId(), (messages) => {
      seen.push(...messages.map((m) => m.value.attempt));
      const bad = messages.filter((m) => m.value.attempt === 2);
      return Promise.resolve({
        rejected: bad.map((message) => ({
          message,
          error: new SchedulerError('VALIDATION_FAILED', 'attempt 2 is refused'),
        })),
      });
    });
    const letters = await readAll(t.kafka, `${t.binding.topic}.dlq`, 2);
    expect(seen).toEqual([1, 2, 3]);
    expect(letters.map((l) => headerText(l.headers, DLQ_HEADERS.errorCode))).toEqual([
      'DECODE_FAILED',
      'VALIDATION_FAILED',
    ]);
    expect(contracts.codec('TaskTrigger').decode(letters[1]!.value!).attempt).toBe(2);
  });

  it('isolates a poison message by trying each message alone once the batch keeps failing', async () => {
    await t.producer.send(
      t.binding,
      [1, 2, 3, 4].map((attempt) => ({ key: 'k', value: trigger('k', attempt) })),
    );
    const done = new Set<number>();
    const sizes: number[] = [];
    await run(t.ctx.groupId(), (messages) => {
      sizes.push(messages.length);
      if (messages.some((m) => m.value.attempt === 3)) {
        return Promise.reject(new Error('attempt 3 breaks the handler'));
      }
      for (const m of messages) done.add(m.value.attempt);
      return Promise.resolve(undefined);
    });
    const [letter] = await readAll(t.kafka, `${t.binding.topic}.dlq`, 1);
    await waitFor(() => done.size === 3, 20_000, 'the three good messages');
    expect([...done].sort()).toEqual([1, 2, 4]);
    expect(contracts.codec('TaskTrigger').decode(letter!.value!).attempt).toBe(3);
    expect(headerText(letter?.headers, DLQ_HEADERS.attempts)).toBe('3');
    // Three tries of the whole batch, then one call per message (the poison one three times).
    expect(sizes.slice(0, 3)).toEqual([4, 4, 4]);
    expect(sizes.slice(3).every((s) => s === 1)).toBe(true);
  });

  it('holds the whole batch through an outage and retries it as a whole', async () => {
    await t.producer.send(
      t.binding,
      [1, 2].map((attempt) => ({ key: 'k', value: trigger('k', attempt) })),
    );
    let calls = 0;
    const handled: number[] = [];
    await run(t.ctx.groupId(), (messages) => {
      calls += 1;
      if (calls <= 5) return Promise.reject(new SchedulerError('DEPENDENCY_UNAVAILABLE', 'store down'));
      handled.push(...messages.map((m) => m.value.attempt));
      return Promise.resolve(undefined);
    });
    await waitFor(() => handled.length === 2, 20_000, 'both messages after the outage');
    expect(handled).toEqual([1, 2]);
    expect(calls).toBe(6);
  });
});
