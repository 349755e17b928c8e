import type { CollectedMessage } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import { toDelayedCopies } from '../src/observer.ts';
import { parseAcquisitions } from '../src/tokens.ts';

const record = (
  partition: number,
  offset: string,
  key: string,
  receivedAt: number,
): CollectedMessage<Buffer> => ({
  topic: 'target',
  partition,
  offset,
  key,
  value: null,
  bytes: null,
  headers: { 'message-id': key },
  receivedAt,
  timestamp: receivedAt - 3,
});

describe('what the run observes', () => {
  it('keeps a record the consumer read again after rejoining its group once', () => {
    const copies = toDelayedCopies(
      [record(0, '5', 'a', 1), record(1, '5', 'b', 2), record(0, '5', 'a', 9), record(0, '6', 'a', 10)],
      'target',
    );
    // Partition 0 offset 5 twice is one record read twice; offset 6 is the service writing `a` again.
    expect(copies.map((c) => `${c.partition}:${c.offset}`)).toEqual(['0:5', '1:5', '0:6']);
    expect(copies[0]).toMatchObject({ key: 'a', messageId: 'a', receivedAt: 1, publishedAt: -2 });
  });

  it('reads every leadership acquisition a ticker logged, with its token and time', () => {
    const log = [
      '{"level":30,"time":1000,"msg":"ticker ready"}',
      '{"level":30,"time":2000,"token":7,"msg":"leadership acquired"}',
      '{"level":40,"time":3000,"token":7,"reason":"renewal refused","msg":"leadership lost"}',
      '{"level":30,"time":4000,"token":9,"msg":"leadership acq',
      '{"level":30,"time":5000,"token":11,"msg":"leadership acquired"}',
    ].join('\n');
    expect(parseAcquisitions('ticker-1', log)).toEqual([
      { process: 'ticker-1', token: 7, at: 2000 },
      { process: 'ticker-1', token: 11, at: 5000 },
    ]);
  });
});
