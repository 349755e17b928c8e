import { describe, expect, it } from 'vitest';
import { checkSchemas } from '../src/compat.ts';
import { registerSchema, type SchemaVersion } from '../src/registry.ts';
import { GREETING_V1, GREETING_V2, GREETING_VERSIONS } from './fixtures.ts';

const problemsOf = (versions: SchemaVersion[], lock = {}) =>
  checkSchemas(versions, lock).map((p) => p.problem);

describe('schema checker', () => {
  it('accepts a new version that only adds fields with defaults', () => {
    expect(problemsOf(GREETING_VERSIONS)).toEqual([]);
  });

  it('fails a new version that adds a required field without a default', () => {
    const v2 = {
      ...GREETING_V1,
      fields: [...GREETING_V1.fields, { name: 'channel', type: 'string', doc: 'No default.' }],
    };
    const problems = problemsOf([GREETING_VERSIONS[0]!, { name: 'Greeting', version: 2, schema: v2 }]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/v2 cannot read data written with v1/);
  });

  it('fails a new version that changes a field type incompatibly', () => {
    const v2 = {
      ...GREETING_V1,
      fields: GREETING_V1.fields.map((f) => (f.name === 'text' ? { ...f, type: 'int' } : f)),
    };
    expect(problemsOf([GREETING_VERSIONS[0]!, { name: 'Greeting', version: 2, schema: v2 }])[0]).toMatch(
      /cannot read/,
    );
  });

  it('fails when a published version is edited in place', () => {
    const lock = { 'Greeting/v1': registerSchema(GREETING_VERSIONS[0]!).fingerprintHex };
    const edited = { ...GREETING_V1, fields: GREETING_V1.fields.slice(0, 2) };
    expect(problemsOf([{ name: 'Greeting', version: 1, schema: edited }], lock)[0]).toMatch(
      /published version changed/,
    );
  });

  it('fails gaps in versions, a root not named after its folder, missing docs and enums without default', () => {
    const undocumented = {
      ...GREETING_V2,
      name: 'Other',
      fields: [
        { name: 'x', type: 'int' },
        { name: 'e', type: { type: 'enum', name: 'E', symbols: ['a'], doc: 'E.' }, doc: 'e.' },
      ],
    };
    const problems = problemsOf([{ name: 'Greeting', version: 2, schema: undocumented }]);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/without gaps/),
        expect.stringMatching(/root must be a record named Greeting/),
        expect.stringMatching(/field org.openpenpal.test.Other.x has no doc/),
        expect.stringMatching(/enum org.openpenpal.test.E has no default/),
      ]),
    );
  });

  it('fails two different definitions of one named type', () => {
    const a = { ...GREETING_V2 };
    const b = {
      type: 'record',
      name: 'Other',
      namespace: 'org.openpenpal.test',
      doc: 'Other.',
      fields: [
        {
          name: 'mood',
          type: { type: 'enum', name: 'Mood', symbols: ['sad'], default: 'sad', doc: 'Mood.' },
          doc: 'Mood.',
        },
      ],
    };
    const problems = problemsOf([
      { name: 'Greeting', version: 1, schema: a },
      { name: 'Other', version: 1, schema: b },
    ]);
    expect(problems.some((p) => /Mood differs from its definition/.test(p))).toBe(true);
  });
});
