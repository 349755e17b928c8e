import { SchedulerError } from '@openpenpal/errors';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  DLQ_HEADERS,
  createConsumerRunner,
  headerText,
  subscription,
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

describe('a consumer holding its partition', () => {
  let t: MessagingTest;
  const runners: ConsumerRunner[] = [];
  beforeEach(async () => {
    t = await setupMessagingTest(stack, 1);
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.close()));
    await t.close();
  });

  it('keeps its group membership through an outage longer than the session timeout', async () => {
    await t.producer.send(t.binding, [{ key: 'o', value: trigger('o', 1) }]);
    const groupId = t.ctx.groupId();
    const started = Date.now();
    const attempts: number[] = [];
    let succeeded = 0;
    const runner = createConsumerRunner({
      kafka: t.kafka,
      contracts,
      producer: t.producer,
      logger,
      groupId,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      retry: { attempts: 2, initialDelayMs: 2_000, maxDelayMs: 4_000 },
      subscriptions: [
        subscription(t.binding, (m) => {
          attempts.push(m.attempt);
          // The dependency is away for 14 s, more than twice the session timeout.
          if (Date.now() - started < 14_000) {
            return Promise.reject(new SchedulerError('DEPENDENCY_UNAVAILABLE', 'redis down'));
          }
          succeeded += 1;
          return Promise.resolve();
        }),
      ],
    });
    runners.push(runner);
    await runner.start();
    await waitFor(() => succeeded === 1, 40_000, 'the message after the outage');
    await runner.close();
    // Without heartbeats the group would have dropped the member, the commit would have failed and
    // the message would have come back as a first attempt.
    expect(attempts[0]).toBe(1);
    expect(attempts.filter((a) => a === 1)).toHaveLength(1);
    expect(attempts).toEqual([...attempts].sort((a, b) => a - b));
    expect(await committedOffsets(t.kafka, groupId, t.binding.topic)).toEqual({ 0: '1' });
    expect(succeeded).toBe(1);
  });

  it('keeps its group membership while a handler runs longer than the session timeout', async () => {
    await t.producer.send(t.binding, [{ key: 'slow', value: trigger('slow', 1) }]);
    const groupId = t.ctx.groupId();
    let calls = 0;
    let done = 0;
    const runner = createConsumerRunner({
      kafka: t.kafka,
      contracts,
      producer: t.producer,
      logger,
      groupId,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      subscriptions: [
        subscription(t.binding, async () => {
          calls += 1;
          // A task that runs for twice the session timeout.
          await new Promise((resolve) => setTimeout(resolve, 13_000));
          done += 1;
        }),
      ],
    });
    runners.push(runner);
    await runner.start();
    await waitFor(() => done === 1, 40_000, 'the slow message');
    await runner.close();
    expect(calls).toBe(1);
    expect(await committedOffsets(t.kafka, groupId, t.binding.topic)).toEqual({ 0: '1' });
  });

  it('rejoins, rather than dying, when its membership was lost before a commit', async () => {
    await t.producer.send(t.binding, [{ key: 'stall', value: trigger('stall', 1) }]);
    const fatal: Error[] = [];
    const seen: number[] = [];
    const runner = createConsumerRunner({
      kafka: t.kafka,
      contracts,
      producer: t.producer,
      logger,
      groupId: t.ctx.groupId(),
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      commitEvery: { messages: 1 },
      onFatal: (error) => fatal.push(error),
      subscriptions: [
        subscription(t.binding, (m) => {
          seen.push(m.value.attempt);
          if (seen.length === 1) {
            // The event loop stalls past the session timeout (no heartbeat can run): the group
            // drops the member, and the commit that follows is refused.
            const until = Date.now() + 9_000;
            while (Date.now() < until) {
              // busy
            }
          }
          return Promise.resolve();
        }),
      ],
    });
    runners.push(runner);
    await runner.start();
    await waitFor(() => seen.length >= 1, 20_000, 'the stalled message');
    await t.producer.send(t.binding, [{ key: 'stall', value: trigger('stall', 2) }]);
    await waitFor(() => seen.includes(2), 60_000, 'the message after the stall');
    expect(fatal).toEqual([]);
    expect(runner.isRunning()).toBe(true);
    // At least once: the stalled message may come back once after the rejoin, never lost.
    expect(seen.filter((a) => a === 1).length).toBeGreaterThanOrEqual(1);
  });

  it('holds the partition while a dead letter cannot be written, reports it, and goes on once it can', async () => {
    const dlq = `${t.binding.topic}.dlq`;
    const admin = t.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [dlq] });
    await t.producer.sendRaw(t.binding.topic, [{ key: 'p', value: Buffer.from('poison') }]);
    await t.producer.send(t.binding, [{ key: 'p', value: trigger('p', 2) }]);
    const failures: string[] = [];
    const handled: number[] = [];
    const runner = createConsumerRunner({
      kafka: t.kafka,
      contracts,
      producer: t.producer,
      logger,
      groupId: t.ctx.groupId(),
      retry: { attempts: 1, initialDelayMs: 10, maxDelayMs: 500 },
      observer: { onDeadLetterFailed: (e) => failures.push(e.topic) },
      subscriptions: [
        subscription(t.binding, (m) => {
          handled.push(m.value.attempt);
          return Promise.resolve();
        }),
      ],
    });
    runners.push(runner);
    await runner.start();
    await waitFor(() => failures.length >= 2, 30_000, 'failed dead-letter writes');
    expect(handled).toEqual([]);
    expect(runner.isRunning()).toBe(true);
    await admin.createTopics({ topics: [{ topic: dlq, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    await waitFor(() => handled.length === 1, 40_000, 'the message after the poison one');
    expect(handled).toEqual([2]);
    const [letter] = await readAll(t.kafka, dlq, 1);
    expect(letter?.value?.toString()).toBe('poison');
  });

  it('dead-letters a value too large for its dead-letter topic as a bounded excerpt', async () => {
    // The test DLQ has the broker's default limit; the value fits the source topic, not with dlq.* headers.
    const big = Buffer.alloc(1_048_300, 7);
    await t.producer.sendRaw(t.binding.topic, [{ key: 'big', value: big }]);
    await t.producer.send(t.binding, [{ key: 'big', value: trigger('big', 2) }]);
    const handled: number[] = [];
    const runner = createConsumerRunner({
      kafka: t.kafka,
      contracts,
      producer: t.producer,
      logger,
      groupId: t.ctx.groupId(),
      subscriptions: [
        subscription(t.binding, (m) => {
          handled.push(m.value.attempt);
          return Promise.resolve();
        }),
      ],
    });
    runners.push(runner);
    await runner.start();
    const [letter] = await readAll(t.kafka, `${t.binding.topic}.dlq`, 1, 40_000);
    await waitFor(() => handled.length === 1, 20_000, 'the message after the large one');
    expect(headerText(letter?.headers, DLQ_HEADERS.valueTruncated)).toBe('true');
    expect(headerText(letter?.headers, DLQ_HEADERS.valueBytes)).toBe(String(big.length));
    expect(letter?.value?.length).toBe(64 * 1024);
    expect(headerText(letter?.headers, DLQ_HEADERS.errorCode)).toBe('DECODE_FAILED');
  });
});
