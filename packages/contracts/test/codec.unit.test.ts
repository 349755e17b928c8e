import { SchedulerError } from '@openpenpal/errors';
import { describe, expect, it } from 'vitest';
import { createCodec, writerSchemaOf } from '../src/codec.ts';
import { createSchemaRegistry } from '../src/registry.ts';
import { GREETING_VERSIONS } from './fixtures.ts';

const registry = createSchemaRegistry(GREETING_VERSIONS);
const v1Only = createSchemaRegistry(GREETING_VERSIONS.slice(0, 1));

describe('single-object codec', () => {
  it('writes the C3 01 marker and the writer fingerprint before the Avro body', () => {
    const codec = createCodec(registry, 'Greeting');
    const bytes = codec.encode({ id: 'a', text: 'hi', sent_at: 1, mood: 'happy' });
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(bytes.subarray(2, 10).toString('hex')).toBe(registry.latest('Greeting').fingerprintHex);
    expect(writerSchemaOf(registry, bytes).version).toBe(2);
  });

  it('round-trips a value, filling defaults of omitted nullable fields', () => {
    const codec = createCodec(registry, 'Greeting');
    const value = codec.decode(
      codec.encode({ id: 'a', text: 'hi', sent_at: 1_700_000_000_000, mood: 'happy' }),
    );
    expect(value).toEqual({ id: 'a', text: 'hi', sent_at: 1_700_000_000_000, language: null, mood: 'happy' });
  });

  it('reads a message written with an old version into the newest version', () => {
    const oldWriter = createCodec(v1Only, 'Greeting');
    const bytes = oldWriter.encode({ id: 'b', text: 'old', sent_at: 5 });
    const reader = createCodec(registry, 'Greeting');
    expect(reader.decode(bytes)).toEqual({
      id: 'b',
      text: 'old',
      sent_at: 5,
      language: null,
      mood: 'neutral',
    });
  });

  it('refuses bytes without the marker, with an unknown fingerprint, or truncated', () => {
    const codec = createCodec(registry, 'Greeting');
    expect(() => codec.decode(Buffer.from('{"json":true}'))).toThrow(
      expect.objectContaining({ code: 'DECODE_FAILED' }),
    );
    const unknown = Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 7), Buffer.from([0])]);
    expect(() => codec.decode(unknown)).toThrow(expect.objectContaining({ code: 'UNKNOWN_SCHEMA' }));
    const good = codec.encode({ id: 'a', text: 'hello there', sent_at: 1 });
    expect(() => codec.decode(good.subarray(0, good.length - 3))).toThrow(
      expect.objectContaining({ code: 'DECODE_FAILED' }),
    );
  });

  it('names the invalid fields when a value does not match its schema', () => {
    const codec = createCodec(registry, 'Greeting');
    let thrown: unknown;
    try {
      codec.encode({ id: 'a', text: 42, sent_at: 'yesterday' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SchedulerError);
    expect((thrown as SchedulerError).code).toBe('VALIDATION_FAILED');
    expect((thrown as SchedulerError).details.fields).toEqual(['text', 'sent_at']);
  });
});
