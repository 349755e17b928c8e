import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DLQ_RETENTION_MS, DLQ_SUFFIX, SCHEMA_VERSIONS, TOPICS } from '../src/index.ts';

// docs/topics.md is what other teams read instead of catalogue.ts; these checks keep the two equal.
const doc = readFileSync(new URL('../../../docs/topics.md', import.meta.url), 'utf8');
const DAY_MS = 24 * 60 * 60 * 1000;

/** The body of the `## <title>` section, up to the next `## ` heading. */
function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`docs/topics.md has no "## ${title}" section`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** Table rows of a section whose first cell is a code span, by that cell's text. */
function rowsOf(title: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of section(title).split('\n')) {
    const first = /^\| `([^`]+)` /.exec(line)?.[1];
    if (first !== undefined)
      rows.set(
        first,
        line
          .split('|')
          .slice(2, -1)
          .map((cell) => cell.trim()),
      );
  }
  return rows;
}

const retention = (ms: number) => (ms === -1 ? 'forever' : `${ms / DAY_MS} day${ms === DAY_MS ? '' : 's'}`);
const DLQ_ROW = `<topic>${DLQ_SUFFIX}`;

describe('docs/topics.md', () => {
  const catalogue = rowsOf('Catalogue');
  const people = rowsOf('Producers and consumers');

  it.each(TOPICS.map((t) => [t.name, t] as const))(
    'lists %s with its key, value schema, partitions, retention and cleanup policy',
    (name, topic) => {
      const row = catalogue.get(name);
      expect(row, `no row for ${name} in the Catalogue table`).toBeDefined();
      const [key = '', schema = '', partitions, retentionText, cleanup] = row ?? [];
      const keyField = /^[A-Za-z_]+/.exec(topic.key)?.[0] ?? topic.key;
      expect(key).toContain(`\`${keyField}\``);
      const link = new RegExp(
        `^\\[\`${topic.valueSchema}\`\\]\\(\\.\\./schemas/${topic.valueSchema}/(v\\d+)\\.avsc\\)$`,
      ).exec(schema);
      expect(
        link,
        `${name}: value schema cell "${schema}" is not a link to ${topic.valueSchema}`,
      ).not.toBeNull();
      const file = new URL(`../../../schemas/${topic.valueSchema}/${link?.[1] ?? ''}.avsc`, import.meta.url);
      expect(existsSync(file), `${name} links to a schema version that does not exist`).toBe(true);
      expect(partitions).toBe(String(topic.partitions));
      expect(retentionText).toBe(retention(topic.retentionMs));
      expect(cleanup).toBe(topic.cleanupPolicy);
    },
  );

  it.each(TOPICS.map((t) => [t.name, t] as const))(
    'names the producers, consumers and provisioning owner of %s as the catalogue does',
    (name, topic) => {
      const row = people.get(name);
      expect(row, `no row for ${name} in the Producers and consumers table`).toBeDefined();
      const [producers = '', consumers = '', owner = ''] = row ?? [];
      expect(producers.split(', ').sort()).toEqual([...topic.producers].sort());
      expect(consumers.split(', ').sort()).toEqual([...topic.consumers].sort());
      expect(owner, `${name}: the service that creates it`).toBe(topic.owner);
    },
  );

  it('lists no topic the catalogue lacks', () => {
    const known = new Set([...TOPICS.map((t) => t.name), DLQ_ROW]);
    expect([...catalogue.keys()].filter((name) => !known.has(name))).toEqual([]);
    expect([...people.keys()].filter((name) => !known.has(name))).toEqual([]);
  });

  it('states the dead-letter convention with its retention', () => {
    expect(catalogue.get(DLQ_ROW)?.[3]).toBe(retention(DLQ_RETENTION_MS));
  });

  it('names every event variant of every value schema', () => {
    const latest = new Map<string, (typeof SCHEMA_VERSIONS)[number]>();
    for (const v of SCHEMA_VERSIONS)
      if ((latest.get(v.name)?.version ?? 0) < v.version) latest.set(v.name, v);
    const variants: string[] = [];
    for (const { schema } of latest.values()) {
      for (const field of (schema as { fields: { type: unknown }[] }).fields) {
        if (!Array.isArray(field.type)) continue;
        for (const branch of field.type as unknown[]) {
          const record = branch as { type?: unknown; name?: unknown };
          if (record.type === 'record' && typeof record.name === 'string') variants.push(record.name);
        }
      }
    }
    expect(variants.length).toBeGreaterThan(0);
    expect(variants.filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
  });
});
