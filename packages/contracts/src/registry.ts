import avro from 'avsc';
import { SchedulerError } from '@openpenpal/errors';
import { fingerprintBytes } from './rabin.ts';

/** One published version of a root schema, as stored in `schemas/<name>/v<version>.avsc`. */
export interface SchemaVersion {
  name: string;
  version: number;
  schema: object;
}

export interface RegisteredSchema {
  name: string;
  version: number;
  type: avro.Type;
  /** Parsing Canonical Form, the text the fingerprint is computed over. */
  canonical: string;
  /** CRC-64-AVRO of the canonical form, little-endian, as written after the 0xC3 0x01 marker. */
  fingerprint: Buffer;
  fingerprintHex: string;
}

export interface SchemaRegistry {
  /** The newest version of a root schema: what this code writes and reads into. */
  latest(name: string): RegisteredSchema;
  /** Any known version, by the fingerprint a message carries. */
  byFingerprint(fingerprintHex: string): RegisteredSchema | undefined;
  all(): readonly RegisteredSchema[];
}

/** Parses a schema the way every reader and writer of this project does. */
export function parseSchema(schema: object): avro.Type {
  // Unions of several records are wrapped ({ "ns.Name": value }) so the branch survives a round
  // trip; ["null", T] stays unwrapped. Logical types map to their underlying type: timestamps
  // are epoch-millisecond numbers and uuids strings, in TypeScript as on the wire.
  return avro.Type.forSchema(schema as avro.Schema, { wrapUnions: 'auto' });
}

export function registerSchema(version: SchemaVersion): RegisteredSchema {
  const type = parseSchema(version.schema);
  const canonical = JSON.stringify(type.schema());
  const fingerprint = fingerprintBytes(canonical);
  return { ...version, type, canonical, fingerprint, fingerprintHex: fingerprint.toString('hex') };
}

export function createSchemaRegistry(versions: readonly SchemaVersion[]): SchemaRegistry {
  const registered = versions.map(registerSchema);
  const latest = new Map<string, RegisteredSchema>();
  const byFingerprint = new Map<string, RegisteredSchema>();
  for (const entry of registered) {
    const current = latest.get(entry.name);
    if (!current || current.version < entry.version) latest.set(entry.name, entry);
    const clash = byFingerprint.get(entry.fingerprintHex);
    // Two versions with one canonical form would make the writer ambiguous; the schema check
    // rejects such a version, this guards hand-made registries too.
    if (clash && clash.name !== entry.name) {
      throw new SchedulerError('INTERNAL', `schemas ${clash.name} and ${entry.name} share a fingerprint`);
    }
    if (!clash) byFingerprint.set(entry.fingerprintHex, entry);
  }
  return {
    latest: (name) => {
      const found = latest.get(name);
      if (!found)
        throw new SchedulerError('UNKNOWN_SCHEMA', `no schema named ${name}`, { details: { name } });
      return found;
    },
    byFingerprint: (hex) => byFingerprint.get(hex),
    all: () => registered,
  };
}
