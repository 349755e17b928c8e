import { describe, expect, it } from 'vitest';
import { recordBytes, splitBySize } from '../src/request-size.ts';

const message = (id: number, bytes: number) => ({
  key: `k${id}`,
  value: Buffer.alloc(bytes),
  headers: { id: String(id) },
});

describe('splitBySize', () => {
  it('keeps a send that fits in one request as it is', () => {
    const batches = [
      { topic: 'a', messages: [message(1, 100), message(2, 100)] },
      { topic: 'b', messages: [message(3, 100)] },
    ];
    expect(splitBySize(batches, 10_000)).toEqual([batches]);
  });

  it('splits into requests of at most maxBytes, every message once and in its order', () => {
    const batches = [
      { topic: 'a', messages: Array.from({ length: 50 }, (_, i) => message(i, 300)) },
      { topic: 'b', messages: Array.from({ length: 30 }, (_, i) => message(100 + i, 500)) },
    ];
    const requests = splitBySize(batches, 4_000);
    expect(requests.length).toBeGreaterThan(1);
    for (const request of requests) {
      const size = request.flatMap((group) => group.messages).reduce((sum, m) => sum + recordBytes(m), 0);
      expect(size).toBeLessThanOrEqual(4_000);
    }
    const order = (topic: string) =>
      requests.flatMap((request) =>
        request.filter((g) => g.topic === topic).flatMap((g) => g.messages.map((m) => m.key)),
      );
    expect(order('a')).toEqual(batches[0]?.messages.map((m) => m.key));
    expect(order('b')).toEqual(batches[1]?.messages.map((m) => m.key));
  });

  it('sends a message bigger than maxBytes alone', () => {
    const requests = splitBySize(
      [{ topic: 'a', messages: [message(1, 10), message(2, 5_000), message(3, 10)] }],
      1_000,
    );
    expect(requests.map((request) => request.flatMap((g) => g.messages.map((m) => m.key)))).toEqual([
      ['k1'],
      ['k2'],
      ['k3'],
    ]);
  });

  it('counts key, value, header names and values', () => {
    expect(
      recordBytes({ key: 'abc', value: Buffer.alloc(10), headers: { h: 'xy', list: ['a', 'bc'] } }),
    ).toBe(24 + 3 + 10 + (2 + 1 + 2) + (2 + 4 + 3));
  });
});
