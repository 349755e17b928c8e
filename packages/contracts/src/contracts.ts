import { createCodec, type Codec } from './codec.ts';
import { SCHEMA_VERSIONS } from './generated/schemas.ts';
import type { SchemaName, SchemaTypes } from './generated/types.ts';
import { createSchemaRegistry, type SchemaRegistry, type SchemaVersion } from './registry.ts';

export interface Contracts {
  registry: SchemaRegistry;
  /** The codec of a root schema (cached): writes the newest version, reads every known one. */
  codec<S extends SchemaName>(schema: S): Codec<SchemaTypes[S]>;
}

/** The registry and codecs over every published schema version (or the versions given, in tests). */
export function createContracts(versions: readonly SchemaVersion[] = SCHEMA_VERSIONS): Contracts {
  const registry = createSchemaRegistry(versions);
  const codecs = new Map<string, Codec<unknown>>();
  return {
    registry,
    codec: <S extends SchemaName>(schema: S) => {
      let codec = codecs.get(schema);
      if (!codec) {
        codec = createCodec<unknown>(registry, schema);
        codecs.set(schema, codec);
      }
      return codec as Codec<SchemaTypes[S]>;
    },
  };
}
