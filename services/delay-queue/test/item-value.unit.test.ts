import { describe, expect, it } from 'vitest';
import { parseItemValue } from '../src/store/index.ts';

const DUE = Date.UTC(2027, 0, 1, 9, 30);
const RECORD = Buffer.from([0x01, 0x0a, 0x7c, 0xff]);

/** The compact form as lua/item.lua writes it: 6 bytes big-endian, top bit set. */
function compact(dueAt: number): Buffer {
  const header = Buffer.alloc(6);
  header.writeUIntBE(dueAt, 0, 6);
  header[0] = (header[0] ?? 0) + 0x80;
  return Buffer.concat([header, RECORD]);
}

describe('item values read outside Lua', () => {
  it('reads the compact form of a pending item, record bytes untouched', () => {
    expect(parseItemValue(compact(DUE))).toEqual({ dueAt: DUE, attempts: 0, record: RECORD });
  });

  it('reads both text forms, whose record may hold newlines', () => {
    for (const head of [`${DUE}|3|tok|0\n`, `${DUE}|3|tok|1|2\n`]) {
      expect(parseItemValue(Buffer.concat([Buffer.from(head, 'latin1'), RECORD]))).toEqual({
        dueAt: DUE,
        attempts: 3,
        record: RECORD,
      });
    }
  });

  it('refuses a value in no known form', () => {
    expect(parseItemValue(Buffer.alloc(0))).toBeUndefined();
    expect(parseItemValue(Buffer.from([0x80, 1]))).toBeUndefined();
    expect(parseItemValue(Buffer.from('no header at all', 'latin1'))).toBeUndefined();
    expect(parseItemValue(Buffer.from('x|y|z|0\nrecord', 'latin1'))).toBeUndefined();
  });
});
