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

describe('samples', () => {
  it('cover every branch of every multi-record union', () => {
    const covered = new Set<string>();
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
        for (const [key, inner] of Object.entries(value)) {
          if (key.startsWith('org.openpenpal.')) covered.add(key);
          collect(inner);
        }
      }
    };
    Object.values(SAMPLES).forEach(collect);
    const branches = new Set<string>();
    const walk = (type: {
      typeName: string;
      types?: unknown[];
      fields?: { type: unknown }[];
      branchName?: string;
    }) => {
      if (type.typeName === 'union:wrapped') {
        for (const t of type.types as { branchName: string }[]) branches.add(t.branchName);
      }
      for (const t of (type.types ?? []) as (typeof type)[]) walk(t);
      for (const f of type.fields ?? []) walk(f.type as typeof type);
    };
    for (const name of names) walk(contracts.codec(name).schema.type);
    expect(branches.size).toBeGreaterThan(20);
    expect([...branches].filter((b) => !covered.has(b))).toEqual([]);
  });
});
