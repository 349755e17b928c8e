import { describe, expect, it } from 'vitest';
import { generateTypes } from '../src/codegen.ts';
import { GREETING_VERSIONS } from './fixtures.ts';

describe('type generator', () => {
  const source = generateTypes([GREETING_VERSIONS[1]!]);

  it('emits an interface per record with docs, optional nullable fields and enum literal types', () => {
    expect(source).toContain('export interface Greeting {');
    expect(source).toContain('  /** Text. */\n  text: string;');
    expect(source).toContain('  language?: null | string;');
    expect(source).toContain("export type Mood = 'neutral' | 'happy';");
    expect(source).toContain('  Greeting: Greeting;');
  });

  it('wraps unions of several records with their full names', () => {
    const envelope = {
      type: 'record',
      name: 'Envelope',
      namespace: 'n',
      doc: 'E.',
      fields: [
        {
          name: 'event',
          doc: 'One of.',
          type: [
            { type: 'record', name: 'A', doc: 'A.', fields: [{ name: 'a', type: 'int', doc: 'a' }] },
            { type: 'record', name: 'B', doc: 'B.', fields: [{ name: 'b', type: 'bytes', doc: 'b' }] },
          ],
        },
      ],
    };
    const out = generateTypes([{ name: 'Envelope', version: 1, schema: envelope }]);
    expect(out).toContain("event: { 'n.A': A } | { 'n.B': B };");
    expect(out).toContain('  b: Buffer;');
  });

  it('refuses two types that would share a TypeScript name', () => {
    const clash = {
      type: 'record',
      name: 'X',
      namespace: 'one',
      doc: 'X.',
      fields: [
        { name: 'y', doc: 'y', type: { type: 'record', name: 'X', namespace: 'two', doc: 'X2', fields: [] } },
      ],
    };
    expect(() => generateTypes([{ name: 'X', version: 1, schema: clash }])).toThrow(/two types are named X/);
  });
});
