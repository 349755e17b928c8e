import type avro from 'avsc';
import { registerSchema, type RegisteredSchema, type SchemaVersion } from './registry.ts';
import { versionKey, type FingerprintLock, type SchemaProblem } from './schema-files.ts';

interface NamedDefinition {
  json: string;
  file: string;
}

function fullName(name: string, namespace: string | undefined): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

/** Walks a raw schema for the project's conventions: docs everywhere, enum defaults, one definition per name. */
function checkConventions(
  node: unknown,
  file: string,
  namespace: string | undefined,
  problems: SchemaProblem[],
  definitions: Map<string, NamedDefinition>,
): void {
  if (Array.isArray(node)) {
    for (const branch of node) checkConventions(branch, file, namespace, problems, definitions);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Record<string, unknown>;
  const type = schema.type;
  if (type === 'record' || type === 'enum' || type === 'fixed') {
    const name = fullName(String(schema.name), (schema.namespace as string | undefined) ?? namespace);
    const json = JSON.stringify(schema);
    const seen = definitions.get(name);
    if (seen && seen.json !== json) {
      problems.push({
        file,
        problem: `${name} differs from its definition in ${seen.file}; shared types must be identical`,
      });
    } else if (!seen) definitions.set(name, { json, file });
    if (type !== 'fixed' && !schema.doc) problems.push({ file, problem: `${name} has no doc` });
    if (type === 'enum' && schema.default === undefined) {
      problems.push({ file, problem: `enum ${name} has no default, so adding a symbol would break readers` });
    }
    if (type === 'record') {
      const ns = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : undefined;
      for (const field of (schema.fields as Record<string, unknown>[] | undefined) ?? []) {
        if (!field.doc) problems.push({ file, problem: `field ${name}.${String(field.name)} has no doc` });
        checkConventions(field.type, file, ns, problems, definitions);
      }
    }
    return;
  }
  if (type === 'array') checkConventions(schema.items, file, namespace, problems, definitions);
  else if (type === 'map') checkConventions(schema.values, file, namespace, problems, definitions);
  else if (typeof type === 'object') checkConventions(type, file, namespace, problems, definitions);
}

function isBackwardCompatible(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Everything `pnpm check` demands of `schemas/`: parseable files, versions v1..vN without gaps,
 * a root record named after its folder, each version readable by the next (Avro schema
 * resolution: a new reader must read old data), published versions unchanged (their fingerprint
 * matches the lock), and the documentation conventions.
 */
export function checkSchemas(versions: readonly SchemaVersion[], lock: FingerprintLock): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const byName = new Map<string, SchemaVersion[]>();
  for (const version of versions) byName.set(version.name, [...(byName.get(version.name) ?? []), version]);
  const latestDefinitions = new Map<string, NamedDefinition>();

  for (const [name, list] of byName) {
    list.sort((a, b) => a.version - b.version);
    const registered: RegisteredSchema[] = [];
    list.forEach((version, index) => {
      const file = `${versionKey(version)}.avsc`;
      if (version.version !== index + 1) {
        problems.push({ file, problem: `versions of ${name} must run v1..vN without gaps` });
      }
      let entry: RegisteredSchema;
      try {
        entry = registerSchema(version);
      } catch (error) {
        problems.push({ file, problem: `not a valid Avro schema: ${(error as Error).message}` });
        return;
      }
      const root = version.schema as { type?: unknown; name?: unknown };
      if (root.type !== 'record' || root.name !== name) {
        problems.push({ file, problem: `the root must be a record named ${name} (the folder's name)` });
      }
      const locked = lock[versionKey(version)];
      if (locked && locked !== entry.fingerprintHex) {
        problems.push({
          file,
          problem: `published version changed (fingerprint ${entry.fingerprintHex}, published ${locked}); add v${list.length + 1}.avsc instead`,
        });
      }
      const previous = registered.at(-1);
      if (previous) {
        const why = isBackwardCompatible(entry.type, previous.type);
        if (why) {
          problems.push({
            file,
            problem: `v${version.version} cannot read data written with v${previous.version}: ${why}`,
          });
        }
      }
      registered.push(entry);
      const isLatest = index === list.length - 1;
      checkConventions(
        version.schema,
        file,
        undefined,
        problems,
        isLatest ? latestDefinitions : new Map<string, NamedDefinition>(),
      );
    });
  }
  return problems;
}
