import type { SchemaVersion } from '../src/registry.ts';

/** A small schema with two versions: v2 adds an optional field and an enum symbol-safe default. */
export const GREETING_V1 = {
  type: 'record',
  name: 'Greeting',
  namespace: 'org.openpenpal.test',
  doc: 'A test message.',
  fields: [
    { name: 'id', type: { type: 'string', logicalType: 'uuid' }, doc: 'Id.' },
    { name: 'text', type: 'string', doc: 'Text.' },
    { name: 'sent_at', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: 'When.' },
  ],
};

export const GREETING_V2 = {
  ...GREETING_V1,
  fields: [
    ...GREETING_V1.fields,
    { name: 'language', type: ['null', 'string'], default: null, doc: 'Language, added in v2.' },
    {
      name: 'mood',
      type: { type: 'enum', name: 'Mood', symbols: ['neutral', 'happy'], default: 'neutral', doc: 'Mood.' },
      default: 'neutral',
      doc: 'Mood, added in v2.',
    },
  ],
};

export const GREETING_VERSIONS: SchemaVersion[] = [
  { name: 'Greeting', version: 1, schema: GREETING_V1 },
  { name: 'Greeting', version: 2, schema: GREETING_V2 },
];
