import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSIONS } from '../src/generated/schemas.ts';
import { rabinFingerprint64 } from '../src/rabin.ts';
import { registerSchema } from '../src/registry.ts';

// Written by tools/java-fingerprints/run.sh with Apache Avro for Java, the reference implementation.
const java = JSON.parse(readFileSync(new URL('./java-fingerprints.json', import.meta.url), 'utf8')) as Record<
  string,
  { fingerprint: string; canonical: string }
>;

const littleEndianHex = (fp: bigint) => {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fp);
  return out.toString('hex');
};

describe('fingerprints match Apache Avro for Java', () => {
  it('for primitive schemas (CRC-64-AVRO itself)', () => {
    for (const name of ['null', 'int', 'string']) {
      const expected = java[`primitive:${name}`];
      expect(littleEndianHex(rabinFingerprint64(Buffer.from(`"${name}"`)))).toBe(expected?.fingerprint);
    }
  });

  it.each(SCHEMA_VERSIONS.map((v) => [`${v.name}/v${v.version}`, v] as const))(
    'for %s (canonical form and fingerprint)',
    (key, version) => {
      const expected = java[key];
      expect(
        expected,
        `${key} missing from java-fingerprints.json: run tools/java-fingerprints/run.sh`,
      ).toBeDefined();
      const ours = registerSchema(version);
      expect(ours.canonical).toBe(expected?.canonical);
      expect(ours.fingerprintHex).toBe(expected?.fingerprint);
    },
  );
});
