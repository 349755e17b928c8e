import { describe, expect, it } from 'vitest';
import { TOPICS, createContracts, triggerTopicName, type SchemaName } from '../src/index.ts';
import { SCHEMA_VERSIONS } from '../src/generated/schemas.ts';
import { SAMPLES } from './samples.ts';

const contracts = createContracts();
const names = [...new Set(SCHEMA_VERSIONS.map((v) => v.name))] as SchemaName[];

describe('every schema', () => {
  it.each(names)('%s round-trips random values of every shape through the codec', (name) => {
    const codec = contracts.codec(name);
    // avsc draws random values from the schema: every union branch and enum symbol comes up.
    for (let i = 0; i < 50; i++) {
      const value: unknown = codec.schema.type.random();
      expect(codec.decode(codec.encode(value as never))).toEqual(value);
    }
  });

  it.each(names)('%s has a hand-written, typed sample that round-trips', (name) => {
    const samples = SAMPLES[name];
    expect(samples.length).toBeGreaterThan(0);
    const codec = contracts.codec(name);
    for (const sample of samples) expect(codec.decode(codec.encode(sample as never))).toEqual(sample);
  });

  it('backs every catalogued topic, and every schema has a topic', () => {
    const used = new Set(TOPICS.map((t) => t.valueSchema));
    expect([...used].sort()).toEqual([...names].sort());
    expect(TOPICS.find((t) => t.name === 'scheduler.task-definitions')?.cleanupPolicy).toBe('compact');
    expect(triggerTopicName('future_letter_unlock')).toBe('scheduler.trigger.future-letter-unlock');
    expect(TOPICS.some((t) => t.name === 'scheduler.trigger.unknown')).toBe(false);
    expect(new Set(TOPICS.map((t) => t.name)).size).toBe(TOPICS.length);
  });
});
