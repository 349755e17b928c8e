import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { HEADERS, headerText } from '../src/index.ts';
import { contracts, readAll, setupMessagingTest, trigger, type MessagingTest } from './support.ts';

const stack = inject('stack');

describe('producer', () => {
  let a: MessagingTest;
  let b: MessagingTest;
  beforeEach(async () => {
    [a, b] = await Promise.all([setupMessagingTest(stack, 1), setupMessagingTest(stack, 1)]);
  });
  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('sends messages for several topics in one call, each with its id and schema headers', async () => {
    await a.producer.sendMany([
      { binding: a.binding, messages: [{ key: 'x', value: trigger('x', 1), messageId: 'id-x' }] },
      {
        binding: b.binding,
        messages: [
          { key: 'y', value: trigger('y', 1) },
          { key: 'y', value: trigger('y', 2) },
        ],
      },
    ]);
    const [onA] = await readAll(a.kafka, a.binding.topic, 1);
    const onB = await readAll(a.kafka, b.binding.topic, 2);
    expect(headerText(onA?.headers, HEADERS.messageId)).toBe('id-x');
    expect(contracts.codec('TaskTrigger').decode(onA!.value!).task_id).toBe('x');
    expect(onB.map((m) => contracts.codec('TaskTrigger').decode(m.value!).attempt)).toEqual([1, 2]);
    expect(headerText(onB[0]?.headers, HEADERS.schema)).toBe('TaskTrigger');
  });

  it('sends more bytes for one partition than the broker takes in one batch, in order', async () => {
    // 3,000 records of 1 KiB with one key: about 3 MiB for one partition, over the broker's
    // message.max.bytes (1 MiB), which refuses such a batch with MESSAGE_TOO_LARGE however often
    // it is retried — unless the send is split into requests the broker takes.
    const raw = Array.from({ length: 3_000 }, (_, i) => ({
      key: 'one-key',
      value: Buffer.concat([Buffer.from(`${i}:`), Buffer.alloc(1_024, 'x')]),
    }));
    await a.producer.sendRaw(a.binding.topic, raw);
    const onA = await readAll(a.kafka, a.binding.topic, raw.length, 60_000);
    expect(onA.map((m) => m.value?.toString().split(':')[0])).toEqual(raw.map((_, i) => String(i)));

    const many = Array.from({ length: 1_500 }, (_, i) => ({
      key: 'one-key',
      value: trigger('big', i + 1, { task_name: 'y'.repeat(1_024) }),
    }));
    await b.producer.sendMany([{ binding: b.binding, messages: many }]);
    const onB = await readAll(b.kafka, b.binding.topic, many.length, 60_000);
    expect(onB.map((m) => contracts.codec('TaskTrigger').decode(m.value!).attempt)).toEqual(
      many.map((_, i) => i + 1),
    );
  });

  it('sends batches encoded ahead of time', async () => {
    const encoded = a.producer.encode(a.binding, [{ key: 'z', value: trigger('z', 7) }]);
    await a.producer.sendEncoded([encoded]);
    const [message] = await readAll(a.kafka, a.binding.topic, 1);
    expect(contracts.codec('TaskTrigger').decode(message!.value!).attempt).toBe(7);
  });
});
