import type { EncodedBatch } from '@openpenpal/messaging';
import { describe, expect, it } from 'vitest';
import { createCoalescedSender } from '../src/coalesced-sender.ts';

/** A producer whose requests the test settles one by one; it refuses any request naming `refuse`. */
function recordingProducer(refuse?: string) {
  const requests: { topics: string[]; settle(): void }[] = [];
  return {
    requests,
    sendEncoded: (batches: readonly EncodedBatch[]) =>
      new Promise<never[]>((resolve, reject) => {
        const topics = batches.map((b) => b.topic);
        requests.push({
          topics,
          settle: () =>
            refuse && topics.includes(refuse) ? reject(new Error(`${refuse} refused`)) : resolve([]),
        });
      }),
  };
}

const batch = (topic: string): EncodedBatch => ({
  topic,
  messages: [{ key: topic, value: Buffer.from(topic) }],
});
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the dispatch loops sharing one target producer', () => {
  it('sends at once when idle, and joins what arrives during a send into the next request', async () => {
    const producer = recordingProducer();
    const sender = createCoalescedSender(producer);
    const first = sender.sendEncoded([batch('a')]);
    await tick();
    expect(producer.requests.map((r) => r.topics)).toEqual([['a']]);
    const joined = [sender.sendEncoded([batch('b')]), sender.sendEncoded([batch('c'), batch('d')])];
    await tick();
    expect(producer.requests).toHaveLength(1);
    producer.requests[0]?.settle();
    await first;
    await tick();
    expect(producer.requests.map((r) => r.topics)).toEqual([['a'], ['b', 'c', 'd']]);
    producer.requests[1]?.settle();
    await expect(Promise.all(joined)).resolves.toHaveLength(2);
  });

  it('sends each caller alone when a joined request fails, so only the caller it belongs to fails', async () => {
    const producer = recordingProducer('bad');
    const sender = createCoalescedSender(producer);
    const first = sender.sendEncoded([batch('a')]);
    await tick();
    const good = sender.sendEncoded([batch('b')]);
    const bad = sender.sendEncoded([batch('bad')]);
    await tick();
    producer.requests[0]?.settle();
    await first;
    await tick();
    producer.requests[1]?.settle(); // ['b', 'bad'] fails
    await tick();
    producer.requests[2]?.settle(); // ['b'] alone
    await tick();
    producer.requests[3]?.settle(); // ['bad'] alone
    await expect(good).resolves.toEqual([]);
    await expect(bad).rejects.toThrow('bad refused');
    expect(producer.requests.map((r) => r.topics)).toEqual([['a'], ['b', 'bad'], ['b'], ['bad']]);
  });
});
