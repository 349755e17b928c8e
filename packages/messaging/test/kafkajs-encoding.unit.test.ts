import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';

// kafkajs's hot encoding steps as patched for speed (patches/kafkajs@2.2.4.patch: murmur2 in 32-bit
// arithmetic, CRC-32C sliced by 8, varlongs of int32-range numbers without Long objects, varints
// written in place, grouping per partition without copying). Each must give exactly what the
// original gave, so every one is checked against an independent reference written here.
const require = createRequire(import.meta.url);
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: string | Buffer,
) => number;
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (buffer: Buffer) => number;
interface EncoderInstance {
  writeVarLong(value: unknown): EncoderInstance;
  writeVarInt(value: number): EncoderInstance;
  readonly buffer: Buffer;
}
const Encoder = require('kafkajs/src/protocol/encoder.js') as {
  new (): EncoderInstance;
  sizeOfVarLong(value: unknown): number;
  sizeOfVarInt(value: number): number;
};
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: bigint | number | string): unknown };
type Grouped = Record<string, { key: string | null; n: number }[]>;
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (args: {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  messages: { key: string | null; n: number; partition?: number }[];
  partitioner: (args: unknown) => number;
}) => Grouped;
const { Partitioners } = require('kafkajs') as typeof Kafkajs;
interface RecordInput {
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string | Buffer | (string | Buffer)[]>;
  offsetDelta: number;
  timestampDelta: number;
}
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  record: RecordInput,
) => unknown;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (batch: Record<string, unknown>) => Promise<EncoderInstance>;
};
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => unknown;
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
  decoder: unknown,
) => Promise<{
  records: {
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer | Buffer[]>;
    offset: string;
    timestamp: string;
  }[];
}>;

const MASK64 = (1n << 64n) - 1n;

/** Kafka's murmur2 as kafkajs 2.2.4 computed it, with 64-bit products, in BigInt. */
function referenceMurmur2(key: string | Buffer): number {
  const data = Buffer.isBuffer(key) ? key : Buffer.from(key);
  const m = 0x5bd1e995n;
  const low32 = (value: bigint) => BigInt.asIntN(32, value);
  let h = BigInt(0x9747b28c ^ data.length) & MASK64;
  const whole = Math.floor(data.length / 4);
  for (let i = 0; i < whole; i += 1) {
    let k = BigInt(data.readInt32LE(i * 4)) & MASK64;
    k = (k * m) & MASK64;
    k ^= BigInt(Number(low32(k)) >>> 24);
    k = (k * m) & MASK64;
    h = (h * m) & MASK64;
    h ^= k;
  }
  const tail = data.length & ~3;
  const rest = data.length % 4;
  if (rest === 3) h ^= BigInt((data[tail + 2] ?? 0) << 16);
  if (rest >= 2) h ^= BigInt((data[tail + 1] ?? 0) << 8);
  if (rest >= 1) {
    h ^= BigInt(data[tail] ?? 0);
    h = (h * m) & MASK64;
  }
  h ^= BigInt(Number(low32(h)) >>> 13);
  h = (h * m) & MASK64;
  h ^= BigInt(Number(low32(h)) >>> 15);
  return Number(low32(h));
}

/** CRC-32C bit by bit (reflected polynomial 0x82F63B78). */
function referenceCrc32C(buffer: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buffer) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A zigzag varint of a 64-bit signed value, as Kafka's protocol writes it. */
function referenceVarLong(value: bigint): Buffer {
  let zigzag = ((value << 1n) ^ (value >> 63n)) & MASK64;
  const bytes: number[] = [];
  while (zigzag >= 0x80n) {
    bytes.push(Number((zigzag & 0x7fn) | 0x80n));
    zigzag >>= 7n;
  }
  bytes.push(Number(zigzag));
  return Buffer.from(bytes);
}

describe('kafkajs encoding as patched', () => {
  it("murmur2 gives Kafka's partitioner hash: Kafka's own test vectors and random keys", () => {
    // From Kafka's UtilsTest.testMurmur2.
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) expect(murmur2(key)).toBe(hash);
    for (let i = 0; i < 5_000; i += 1) {
      const key = i % 2 === 0 ? randomBytes(i % 67) : `${randomUUID()}-${i}`;
      expect(murmur2(key)).toBe(referenceMurmur2(key));
    }
  });

  it('CRC-32C matches the bitwise definition for every length around the 8-byte steps', () => {
    expect(crc32C(Buffer.from('123456789')).toString(16)).toBe('e3069283');
    for (let length = 0; length < 300; length += 1) {
      const buffer = randomBytes(length);
      expect(crc32C(buffer)).toBe(referenceCrc32C(buffer));
    }
    const large = randomBytes(100_003);
    expect(crc32C(large)).toBe(referenceCrc32C(large));
  });

  it('varlongs of numbers, strings and Longs are the zigzag bytes of their 64-bit value', () => {
    const values = [
      0n,
      1n,
      -1n,
      63n,
      64n,
      -64n,
      -65n,
      300n,
      2n ** 31n - 1n,
      -(2n ** 31n),
      2n ** 31n,
      -(2n ** 31n) - 1n,
      2n ** 32n,
      1_796_281_839_878n,
      -1_796_281_839_878n,
      2n ** 53n - 1n,
      2n ** 63n - 1n,
      -(2n ** 63n),
    ];
    for (const value of values) {
      const expected = referenceVarLong(value);
      const asNumber = Number(value);
      const forms: unknown[] = [Long.fromValue(value.toString()), value.toString()];
      if (Number.isSafeInteger(asNumber)) forms.push(asNumber);
      for (const form of forms) {
        expect(new Encoder().writeVarLong(form).buffer.equals(expected), `${value} as ${typeof form}`).toBe(
          true,
        );
        expect(Encoder.sizeOfVarLong(form), `${value} as ${typeof form}`).toBe(expected.length);
      }
    }
  });

  it('varints are the zigzag bytes of their 32-bit value, written in place one after another', () => {
    const values = [0, 1, -1, 127, 128, -129, 16_383, 16_384, 2 ** 31 - 1, -(2 ** 31)];
    const encoder = new Encoder();
    for (const value of values) encoder.writeVarInt(value);
    const expected = Buffer.concat(values.map((value) => referenceVarLong(BigInt(value))));
    expect(encoder.buffer.equals(expected)).toBe(true);
    for (const value of values)
      expect(Encoder.sizeOfVarInt(value)).toBe(referenceVarLong(BigInt(value)).length);
  });

  it('grouping per partition keeps each partition in send order, keyless messages spread round robin', () => {
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({ partitionId, leader: 0 }));
    const messages = Array.from({ length: 3_000 }, (_, n) => ({
      key: n % 3 === 0 ? null : `key-${n % 17}`,
      n,
      ...(n % 5 === 0 ? { partition: 4 } : {}),
    }));
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata,
      messages,
      partitioner: Partitioners.DefaultPartitioner() as (args: unknown) => number,
    });
    const all = Object.values(grouped).flat();
    expect(all).toHaveLength(messages.length);
    for (const [partition, list] of Object.entries(grouped)) {
      const order = list.map((message) => message.n);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      for (const message of list) {
        if (message.n % 5 === 0) expect(partition).toBe('4');
        else if (message.key !== null)
          expect(Number(partition)).toBe((murmur2(message.key) & 0x7fffffff) % 6);
      }
    }
    // Keyless messages without a partition go round robin over all six.
    const keyless = new Set(
      Object.entries(grouped)
        .filter(([, list]) => list.some((message) => message.key === null && message.n % 5 !== 0))
        .map(([partition]) => partition),
    );
    expect(keyless.size).toBe(6);
  });

  it("a record batch reads back as written (kafkajs's own decoder) and carries the CRC-32C of its body", async () => {
    const inputs: RecordInput[] = [
      {
        key: 'task-1',
        value: Buffer.from('one'),
        headers: { 'message-id': 'a', schema: 'S' },
        offsetDelta: 0,
        timestampDelta: 0,
      },
      { key: null, value: Buffer.alloc(600, 7), headers: {}, offsetDelta: 1, timestampDelta: 5 },
      {
        key: Buffer.from([0, 255]),
        value: null,
        headers: { many: ['x', Buffer.from('y')], 'é-ü': 'ß' },
        offsetDelta: 2,
        timestampDelta: 70_000,
      },
    ];
    const firstTimestamp = 1_796_281_839_878;
    const encoded = (
      await RecordBatch({
        records: inputs.map((input) => Record(input)),
        firstTimestamp,
        maxTimestamp: firstTimestamp + 70_000,
        producerId: 42,
        producerEpoch: 1,
        firstSequence: 7,
        lastOffsetDelta: inputs.length - 1,
      })
    ).buffer;
    // firstOffset (8), length (4), partition leader epoch (4), magic (1), CRC (4), then the body.
    expect(encoded.readUInt32BE(17)).toBe(referenceCrc32C(encoded.subarray(21)));
    expect(encoded.readInt32BE(8)).toBe(encoded.length - 12);
    const { records } = await decodeRecordBatch(new Decoder(encoded));
    expect(records.map((record) => record.offset)).toEqual(['0', '1', '2']);
    expect(records.map((record) => record.timestamp)).toEqual(
      inputs.map((input) => String(firstTimestamp + input.timestampDelta)),
    );
    expect(records[0]?.key?.toString()).toBe('task-1');
    expect(records[0]?.headers['message-id']?.toString()).toBe('a');
    expect(records[0]?.headers.schema?.toString()).toBe('S');
    expect(records[1]?.key).toBeNull();
    expect(records[1]?.value?.equals(Buffer.alloc(600, 7))).toBe(true);
    expect(records[1]?.headers).toEqual({});
    expect(records[2]?.key?.equals(Buffer.from([0, 255]))).toBe(true);
    expect(records[2]?.value).toBeNull();
    expect((records[2]?.headers.many as Buffer[]).map((value) => value.toString())).toEqual(['x', 'y']);
    expect(records[2]?.headers['é-ü']?.toString()).toBe('ß');
  });

  it('offsets and timestamps read back exactly, also past 2^53 and with deltas that need a Long', async () => {
    const firstTimestamp = 1_796_281_839_878;
    const deltas = [0, -5, 2 ** 27, 2 ** 28, 2 ** 35];
    const encoded = (
      await RecordBatch({
        records: deltas.map((timestampDelta, offsetDelta) =>
          Record({ key: null, value: Buffer.from('v'), headers: {}, offsetDelta, timestampDelta }),
        ),
        firstTimestamp,
        maxTimestamp: firstTimestamp + 2 ** 35,
        lastOffsetDelta: deltas.length - 1,
      })
    ).buffer;
    for (const firstOffset of [0n, 123_456_789_012n, 2n ** 60n]) {
      encoded.writeBigInt64BE(firstOffset, 0);
      const { records } = await decodeRecordBatch(new Decoder(encoded));
      expect(records.map((record) => record.offset)).toEqual(
        deltas.map((_, i) => String(firstOffset + BigInt(i))),
      );
      expect(records.map((record) => record.timestamp)).toEqual(
        deltas.map((delta) => String(BigInt(firstTimestamp) + BigInt(delta))),
      );
    }
  });
});
