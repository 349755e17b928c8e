import { collectTopics } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { keyPartition } from '../src/index.ts';
import { setupMessagingTest, trigger, type MessagingTest } from './support.ts';

const stack = inject('stack');

describe('partitions chosen ahead', () => {
  let t: MessagingTest;
  beforeEach(async () => {
    t = await setupMessagingTest(stack, 6);
  });
  afterEach(async () => {
    await t.close();
  });

  it('keyPartition picks the partition kafkajs picks at send time, and a chosen partition is kept', async () => {
    const keys = Array.from({ length: 120 }, (_, i) => `task-${i}`);
    const chosen = (keyPartition('moved', 6) + 1) % 6;
    await t.producer.send(t.binding, [
      ...keys.map((key) => ({ key, value: trigger(key, 1) })),
      { key: 'moved', value: trigger('moved', 1), partition: chosen },
    ]);
    const collector = await collectTopics(t.kafka, [t.binding.topic]);
    try {
      const messages = await collector.waitForCount(keys.length + 1, { timeoutMs: 20_000 });
      const byKey = new Map(messages.map((m) => [m.key, m.partition]));
      expect(new Set(messages.map((m) => m.partition)).size).toBe(6);
      for (const key of keys) expect(byKey.get(key), key).toBe(keyPartition(key, 6));
      expect(byKey.get('moved')).toBe(chosen);
    } finally {
      await collector.close();
    }
  });
});
