import { TOPICS } from '@openpenpal/contracts';
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, type DelayedRecord } from '../src/record.ts';
import { catalogueTopicOf, topicHash16, topicRefOf } from '../src/topic-refs.ts';

const payload = Buffer.from([0xc3, 0x01, 0, 10, 124, 255, 0x80, 0x7f]);
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('delayed record format', () => {
  it('round-trips topic, key, headers and payload byte for byte', () => {
    const record: DelayedRecord = {
      topic: 'scheduler.trigger.ai-penpal-reply',
      key: 'task-ä\n|1',
      headers: {
        traceparent: Buffer.from(traceparent),
        tracestate: Buffer.from('vendor=x'),
        schema: Buffer.from('TaskTrigger'),
        'x-custom': Buffer.from([0, 1, 2, 255]),
        '': Buffer.alloc(0),
      },
      payload,
    };
    const decoded = decodeRecord(encodeRecord(record));
    expect(decoded.topic).toBe(record.topic);
    expect(decoded.key).toBe(record.key);
    expect(Object.keys(decoded.headers)).toEqual(Object.keys(record.headers));
    for (const [name, value] of Object.entries(record.headers)) {
      expect(decoded.headers[name]?.equals(value)).toBe(true);
    }
    expect(decoded.payload.equals(payload)).toBe(true);
  });

  it('stores a catalogue topic as a two-byte reference and any other topic by name', () => {
    const bare = { key: null, headers: {}, payload };
    const catalogued = encodeRecord({ ...bare, topic: 'scheduler.trigger.future-letter-unlock' });
    expect(catalogued.length).toBe(1 + 2 + payload.length);
    const other = encodeRecord({ ...bare, topic: 't-extra-abc' });
    expect(other.length).toBe(1 + 1 + 'extra'.length + 6 + payload.length);
    expect(decodeRecord(other).topic).toBe('t-extra-abc');
    expect(decodeRecord(catalogued)).toMatchObject({
      topic: 'scheduler.trigger.future-letter-unlock',
      key: null,
    });
  });

  it('packs a canonical traceparent into 25 bytes and keeps any other one as text', () => {
    const base = { topic: 'scheduler.trigger.daily-report', key: null, payload };
    const packed = encodeRecord({ ...base, headers: { traceparent: Buffer.from(traceparent) } });
    expect(packed.length).toBe(3 + 1 + 1 + 25 + payload.length);
    const odd = 'ff-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01';
    const literal = decodeRecord(encodeRecord({ ...base, headers: { traceparent: Buffer.from(odd) } }));
    expect(literal.headers.traceparent?.toString()).toBe(odd);
  });

  it('leaves out the headers it is told to omit', () => {
    const encoded = encodeRecord(
      { topic: 'x', key: null, headers: { 'message-id': Buffer.from('m'), a: Buffer.from('b') }, payload },
      new Set(['message-id']),
    );
    expect(Object.keys(decodeRecord(encoded).headers)).toEqual(['a']);
  });

  it('handles lengths that need multi-byte varints', () => {
    const long = 'k'.repeat(300);
    const decoded = decodeRecord(
      encodeRecord({ topic: 't'.repeat(200), key: long, headers: { h: Buffer.alloc(70_000, 1) }, payload }),
    );
    expect(decoded.key).toBe(long);
    expect(decoded.headers.h?.length).toBe(70_000);
  });

  it('fails as INTERNAL on a truncated or foreign record', () => {
    const encoded = encodeRecord({
      topic: 'some-topic',
      key: 'k',
      headers: { a: Buffer.from('b') },
      payload,
    });
    expect(() => decodeRecord(encoded.subarray(0, 5))).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    expect(() => decodeRecord(Buffer.from('{"json":1}'))).toThrow(
      expect.objectContaining({ code: 'INTERNAL' }),
    );
    expect(() => decodeRecord(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('reports a topic reference this version does not know as UNKNOWN_TOPIC', () => {
    let unknown = 0;
    while (catalogueTopicOf(unknown) !== undefined) unknown += 1;
    const record = Buffer.concat([Buffer.from([0x11]), Buffer.from([unknown >> 8, unknown & 0xff]), payload]);
    expect(() => decodeRecord(record)).toThrow(expect.objectContaining({ code: 'UNKNOWN_TOPIC' }));
  });
});

describe('catalogue topic references', () => {
  it('gives every catalogue topic its own reference', () => {
    const refs = TOPICS.map((topic) => topicRefOf(topic.name));
    expect(refs.every((ref) => ref !== undefined)).toBe(true);
    expect(new Set(refs).size).toBe(TOPICS.length);
    for (const topic of TOPICS) expect(catalogueTopicOf(topicHash16(topic.name))).toBe(topic.name);
  });

  it('derives a reference from the name alone', () => {
    // FNV-1a 32 of "a" is 0xe40c292c; folded: 0xe40c ^ 0x292c.
    expect(topicHash16('a')).toBe(0xe40c ^ 0x292c);
    expect(topicRefOf('not-a-catalogue-topic')).toBeUndefined();
  });
});
