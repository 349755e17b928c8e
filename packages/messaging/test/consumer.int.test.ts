import { SchedulerError } from '@openpenpal/errors';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  DLQ_HEADERS,
  createConsumerRunner,
  subscription,
  headerText,
  type ConsumedMessage,
  type ConsumerRunner,
} from '../src/index.ts';
import type { TaskTrigger } from '@openpenpal/contracts';
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

describe('consumer runner', () => {
  let t: MessagingTest;
  const runners: ConsumerRunner[] = [];
  beforeEach(async () => {
    t = await setupMessagingTest(stack);
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.close()));
    await t.close();
  });

  const run = async (
    groupId: string,
    handler: (m: ConsumedMessage<TaskTrigger>) => Promise<void>,
    extra: { commitEvery?: { messages?: number; ms?: number } } = {},
  ) => {
    const runner = createConsumerRunner({
      kafka: t.kafka,
      contracts,
      producer: t.producer,
      logger,
      groupId,
      subscriptions: [subscription(t.binding, handler)],
      retry: { attempts: 3, initialDelayMs: 10, maxDelayMs: 50 },
      ...extra,
    });
    runners.push(runner);
    await runner.start();
    return runner;
  };

  it('decodes typed messages and keeps per-key order across partitions', async () => {
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (let attempt = 1; attempt <= 20; attempt++) {
      await t.producer.send(
        t.binding,
        keys.map((k) => ({ key: k, value: trigger(k, attempt) })),
      );
    }
    const seen = new Map<string, number[]>();
    const partitions = new Set<number>();
    const ids: (string | undefined)[] = [];
    const schemas: (string | undefined)[] = [];
    // Collect in the handler, assert afterwards: a failed expect inside would only be retried.
    await run(t.ctx.groupId(), (m) => {
      seen.set(m.value.task_id, [...(seen.get(m.value.task_id) ?? []), m.value.attempt]);
      partitions.add(m.partition);
      ids.push(m.messageId);
      schemas.push(m.headers.schema);
      return Promise.resolve();
    });
    await waitFor(() => [...seen.values()].reduce((n, l) => n + l.length, 0) === 120, 20_000, '120 messages');
    for (const k of keys) expect(seen.get(k)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(partitions.size).toBeGreaterThan(1);
    expect(ids.every((id) => /^[0-9a-f-]{36}$/.test(id ?? ''))).toBe(true);
    expect(new Set(schemas)).toEqual(new Set(['TaskTrigger']));
  });

  it('tells each member the partitions it was given, and again after a rebalance', async () => {
    const groupId = t.ctx.groupId();
    const given: [string, number[]][] = [];
    const member = (name: string) => {
      const runner = createConsumerRunner({
        kafka: t.kafka,
        contracts,
        producer: t.producer,
        logger,
        groupId,
        subscriptions: [subscription(t.binding, () => Promise.resolve())],
        sessionTimeoutMs: 6_000,
        heartbeatIntervalMs: 500,
        onAssigned: (assignment) => given.push([name, [...(assignment.get(t.binding.topic) ?? [])]]),
      });
      runners.push(runner);
      return runner;
    };
    const first = member('first');
    await first.start();
    await waitFor(() => given.length > 0, 20_000, 'the first join');
    expect(given.at(-1)).toEqual(['first', [0, 1, 2]]);
    await member('second').start();
    const latest = (name: string) => given.findLast(([who]) => who === name)?.[1];
    await waitFor(
      () => (latest('second')?.length ?? 0) > 0 && (latest('first')?.length ?? 3) < 3,
      30_000,
      'the rebalance',
    );
    expect([...(latest('first') ?? []), ...(latest('second') ?? [])].sort()).toEqual([0, 1, 2]);
    await first.close();
    await waitFor(() => latest('second')?.length === 3, 30_000, 'the survivor taking every partition');
  });

  it('dead-letters an undecodable message and goes on with the rest of its partition', async () => {
    await t.producer.sendRaw(t.binding.topic, [
      { key: 'k', partition: 0, value: Buffer.from('{"not":"avro"}'), headers: { origin: 'legacy' } },
    ]);
    await t.producer.send(t.binding, [{ key: 'k', value: trigger('k', 1) }]);
    await t.producer.send(t.binding, [{ key: 'k', value: trigger('k', 2) }]);
    const handled: number[] = [];
    await run(t.ctx.groupId(), (m) => {
      handled.push(m.value.attempt);
      return Promise.resolve();
    });
    await waitFor(() => handled.length === 2, 20_000, 'the two good messages');
    expect(handled).toEqual([1, 2]);
    const [letter] = await readAll(t.kafka, `${t.binding.topic}.dlq`, 1);
    expect(letter?.value?.toString()).toBe('{"not":"avro"}');
    expect(letter?.key?.toString()).toBe('k');
    expect(headerText(letter?.headers, 'origin')).toBe('legacy');
    expect(headerText(letter?.headers, DLQ_HEADERS.errorCode)).toBe('DECODE_FAILED');
    expect(headerText(letter?.headers, DLQ_HEADERS.originalTopic)).toBe(t.binding.topic);
    expect(headerText(letter?.headers, DLQ_HEADERS.originalOffset)).toBe('0');
    expect(headerText(letter?.headers, DLQ_HEADERS.errorMessage)).toMatch(/single-object/);
  });

  it('retries a handler that fails twice, then commits the message once', async () => {
    await t.producer.send(t.binding, [{ key: 'r', value: trigger('r', 1) }]);
    const groupId = t.ctx.groupId();
    let calls = 0;
    const attempts: number[] = [];
    const runner = await run(groupId, (m) => {
      calls += 1;
      attempts.push(m.attempt);
      if (calls <= 2) return Promise.reject(new Error(`transient failure ${calls}`));
      return Promise.resolve();
    });
    await waitFor(() => calls === 3, 20_000, 'three calls');
    await runner.close();
    expect(attempts).toEqual([1, 2, 3]);
    const offsets = await committedOffsets(t.kafka, groupId, t.binding.topic);
    expect(Object.values(offsets).filter((o) => o === '1')).toHaveLength(1);

    // The same group starting again sees only what came after.
    await t.producer.send(t.binding, [{ key: 'r', value: trigger('r', 2) }]);
    const later: number[] = [];
    await run(groupId, (m) => {
      later.push(m.value.attempt);
      return Promise.resolve();
    });
    await waitFor(() => later.length === 1, 20_000, 'the later message');
    await new Promise((r) => setTimeout(r, 300));
    expect(later).toEqual([2]);
  });

  it('dead-letters a non-retryable failure after one try, with its code and attempt count', async () => {
    await t.producer.send(t.binding, [{ key: 'n', value: trigger('n', 1) }]);
    let calls = 0;
    await run(t.ctx.groupId(), () => {
      calls += 1;
      return Promise.reject(new SchedulerError('NON_RETRYABLE_FAILURE', 'letter does not exist'));
    });
    const [letter] = await readAll(t.kafka, `${t.binding.topic}.dlq`, 1);
    expect(calls).toBe(1);
    expect(headerText(letter?.headers, DLQ_HEADERS.errorCode)).toBe('NON_RETRYABLE_FAILURE');
    expect(headerText(letter?.headers, DLQ_HEADERS.attempts)).toBe('1');
    expect(contracts.codec('TaskTrigger').decode(letter!.value!).task_id).toBe('n');
  });

  it('dead-letters a message that keeps failing after the configured tries', async () => {
    await t.producer.send(t.binding, [{ key: 'x', value: trigger('x', 1) }]);
    let calls = 0;
    await run(t.ctx.groupId(), () => {
      calls += 1;
      return Promise.reject(new Error('still broken'));
    });
    const [letter] = await readAll(t.kafka, `${t.binding.topic}.dlq`, 1);
    expect(calls).toBe(3);
    expect(headerText(letter?.headers, DLQ_HEADERS.errorCode)).toBe('HANDLER_FAILED');
    expect(headerText(letter?.headers, DLQ_HEADERS.attempts)).toBe('3');
    expect(headerText(letter?.headers, DLQ_HEADERS.errorStack)).toMatch(/still broken/);
  });

  it('holds a message through a dependency outage longer than its tries instead of dead-lettering it', async () => {
    await t.producer.send(t.binding, [{ key: 'o', value: trigger('o', 1) }]);
    await t.producer.send(t.binding, [{ key: 'o', value: trigger('o', 2) }]);
    let calls = 0;
    const handled: number[] = [];
    await run(t.ctx.groupId(), (m) => {
      calls += 1;
      // Redis is "down" for the first 6 tries: twice the configured 3 attempts.
      if (calls <= 6)
        return Promise.reject(new SchedulerError('DEPENDENCY_UNAVAILABLE', 'redis unreachable'));
      handled.push(m.value.attempt);
      return Promise.resolve();
    });
    await waitFor(() => handled.length === 2, 20_000, 'both messages after the outage');
    expect(handled).toEqual([1, 2]);
    expect(calls).toBe(8);
    const admin = t.kafka.admin();
    await admin.connect();
    const [dlq] = await admin.fetchTopicOffsets(`${t.binding.topic}.dlq`);
    await admin.disconnect();
    expect(dlq?.high).toBe('0');
  });

  it('commits what was processed when it shuts down', async () => {
    await t.producer.send(
      t.binding,
      Array.from({ length: 30 }, (_, i) => ({ key: 'same-key', value: trigger('s', i + 1) })),
    );
    const groupId = t.ctx.groupId();
    let handled = 0;
    // Commit only at the end of a batch or on shutdown, never in between.
    const runner = await run(
      groupId,
      () => {
        handled += 1;
        return Promise.resolve();
      },
      { commitEvery: { messages: 1_000_000, ms: 3_600_000 } },
    );
    await waitFor(() => handled === 30, 20_000, '30 messages');
    await runner.close();
    const offsets = await committedOffsets(t.kafka, groupId, t.binding.topic);
    expect(Object.values(offsets)).toContain('30');
  });
});
