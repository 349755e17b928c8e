import type avro from 'avsc';
import { SchedulerError, toError } from '@openpenpal/errors';
import type { RegisteredSchema, SchemaRegistry } from './registry.ts';

/** Avro single-object encoding: 0xC3 0x01, the writer schema's 8-byte fingerprint, the body. */
type Resolver = ReturnType<avro.Type['createResolver']>;

const MAGIC_0 = 0xc3;
const MAGIC_1 = 0x01;
const SINGLE_OBJECT_HEADER_LENGTH = 10;

export interface Codec<T> {
  readonly schema: RegisteredSchema;
  /** Writes `value` with the newest schema version; invalid values fail with VALIDATION_FAILED. */
  encode(value: T): Buffer;
  /** Reads a value written with any known version of this schema into the newest version. */
  decode(bytes: Buffer): T;
}

/** The writer schema a single-object-encoded message names, or a DECODE/UNKNOWN_SCHEMA error. */
export function writerSchemaOf(registry: SchemaRegistry, bytes: Buffer): RegisteredSchema {
  if (bytes.length < SINGLE_OBJECT_HEADER_LENGTH || bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1) {
    throw new SchedulerError('DECODE_FAILED', 'value is not Avro single-object encoded (no C3 01 marker)', {
      details: { length: bytes.length },
    });
  }
  const fingerprintHex = bytes.subarray(2, SINGLE_OBJECT_HEADER_LENGTH).toString('hex');
  const writer = registry.byFingerprint(fingerprintHex);
  if (!writer) {
    throw new SchedulerError('UNKNOWN_SCHEMA', `no known schema has fingerprint ${fingerprintHex}`, {
      details: { fingerprint: fingerprintHex },
    });
  }
  return writer;
}

function isWrittenWith(bytes: Buffer, header: Buffer): boolean {
  if (bytes.length < SINGLE_OBJECT_HEADER_LENGTH) return false;
  for (let i = 0; i < SINGLE_OBJECT_HEADER_LENGTH; i++) if (bytes[i] !== header[i]) return false;
  return true;
}

function invalidPaths(type: avro.Type, value: unknown): string[] {
  const paths: string[] = [];
  type.isValid(value, {
    errorHook: (path: string[]) => {
      paths.push(path.join('.') || '(root)');
    },
  });
  return paths;
}

export function createCodec<T>(registry: SchemaRegistry, schemaName: string): Codec<T> {
  const reader = registry.latest(schemaName);
  const header = Buffer.concat([Buffer.from([MAGIC_0, MAGIC_1]), reader.fingerprint]);
  const resolvers = new Map<string, Resolver>();

  const resolverFor = (writer: RegisteredSchema) => {
    let resolver = resolvers.get(writer.fingerprintHex);
    if (!resolver) {
      resolver = reader.type.createResolver(writer.type);
      resolvers.set(writer.fingerprintHex, resolver);
    }
    return resolver;
  };

  return {
    schema: reader,
    encode: (value) => {
      let body: Buffer;
      try {
        body = reader.type.toBuffer(value);
      } catch (error) {
        const fields = invalidPaths(reader.type, value);
        throw new SchedulerError(
          'VALIDATION_FAILED',
          `invalid ${schemaName}: ${fields.join(', ') || toError(error).message}`,
          {
            details: { schema: schemaName, fields },
            cause: error,
          },
        );
      }
      return Buffer.concat([header, body], SINGLE_OBJECT_HEADER_LENGTH + body.length);
    },
    decode: (bytes) => {
      // Nearly every message is written with the newest version: compare its 8 fingerprint bytes
      // in place before paying for a hex key and a registry lookup.
      const writer = isWrittenWith(bytes, header) ? reader : writerSchemaOf(registry, bytes);
      if (writer.name !== schemaName) {
        throw new SchedulerError(
          'DECODE_FAILED',
          `expected ${schemaName}, the message was written as ${writer.name}`,
          {
            details: { expected: schemaName, writer: writer.name, writerVersion: writer.version },
          },
        );
      }
      const body = bytes.subarray(SINGLE_OBJECT_HEADER_LENGTH);
      try {
        return (
          writer.fingerprintHex === reader.fingerprintHex
            ? reader.type.fromBuffer(body)
            : reader.type.fromBuffer(body, resolverFor(writer))
        ) as T;
      } catch (error) {
        throw new SchedulerError(
          'DECODE_FAILED',
          `cannot decode ${schemaName} v${writer.version}: ${toError(error).message}`,
          {
            details: { schema: schemaName, writerVersion: writer.version },
            cause: error,
          },
        );
      }
    },
  };
}
