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

  it('sends batches encoded ahead of time', async () => {
    const encoded = a.producer.encode(a.binding, [{ key: 'z', value: trigger('z', 7) }]);
    await a.producer.sendEncoded([encoded]);
    const [message] = await readAll(a.kafka, a.binding.topic, 1);
    expect(contracts.codec('TaskTrigger').decode(message!.value!).attempt).toBe(7);
  });
});
