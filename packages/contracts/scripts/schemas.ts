// `node scripts/schemas.ts generate`  records new schema versions in the fingerprint lock and
//                                     writes src/generated/{types,schemas}.ts
// `node scripts/schemas.ts check`     fails when a schema breaks a rule (see src/compat.ts), a
//                                     version is not recorded, or the generated files drift
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkSchemas } from '../src/compat.ts';
import { generateSchemaModule, generateTypes } from '../src/codegen.ts';
import { registerSchema, type SchemaVersion } from '../src/registry.ts';
import {
  readFingerprintLock,
  readSchemaDirectory,
  versionKey,
  type SchemaProblem,
} from '../src/schema-files.ts';

const schemasDir = fileURLToPath(new URL('../../../schemas', import.meta.url));
const lockFile = `${schemasDir}/fingerprints.lock.json`;
const typesFile = fileURLToPath(new URL('../src/generated/types.ts', import.meta.url));
const schemaModuleFile = fileURLToPath(new URL('../src/generated/schemas.ts', import.meta.url));

function latestOf(versions: readonly SchemaVersion[]): SchemaVersion[] {
  const latest = new Map<string, SchemaVersion>();
  for (const v of versions) if ((latest.get(v.name)?.version ?? 0) < v.version) latest.set(v.name, v);
  return [...latest.values()];
}

function report(problems: SchemaProblem[]): void {
  for (const p of problems) console.error(`schemas/${p.file}: ${p.problem}`);
}

const command = process.argv[2];
const { versions, problems } = readSchemaDirectory(schemasDir);
const lock = readFingerprintLock(lockFile);
problems.push(...checkSchemas(versions, lock));
if (problems.length > 0) {
  report(problems);
  console.error(`${problems.length} schema problem(s)`);
  process.exit(1);
}

const outputs: [string, string][] = [
  [typesFile, generateTypes(latestOf(versions))],
  [schemaModuleFile, generateSchemaModule(versions)],
];

if (command === 'generate') {
  const next = { ...lock };
  for (const v of versions) next[versionKey(v)] ??= registerSchema(v).fingerprintHex;
  const sorted = Object.fromEntries(Object.entries(next).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(lockFile, `${JSON.stringify(sorted, null, 2)}\n`);
  for (const [file, text] of outputs) writeFileSync(file, text);
  console.log(`generated types for ${latestOf(versions).length} schemas (${versions.length} versions)`);
} else if (command === 'check') {
  const drift: SchemaProblem[] = [];
  for (const v of versions) {
    if (!lock[versionKey(v)])
      drift.push({ file: `${versionKey(v)}.avsc`, problem: 'not recorded in fingerprints.lock.json' });
  }
  for (const [file, text] of outputs) {
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) {
      drift.push({ file, problem: 'generated file is out of date' });
    }
  }
  if (drift.length > 0) {
    report(drift);
    console.error('run `pnpm --filter @openpenpal/contracts generate` and commit the result');
    process.exit(1);
  }
  console.log(
    `schemas ok: ${versions.length} versions of ${latestOf(versions).length} schemas, generated files current`,
  );
} else {
  console.error('usage: node scripts/schemas.ts generate|check');
  process.exit(2);
}
