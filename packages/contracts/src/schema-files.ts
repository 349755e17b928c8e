import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SchemaVersion } from './registry.ts';

const VERSION_FILE = /^v([1-9][0-9]*)\.avsc$/;

/** A problem with the schema folder, worded for the person who has to fix it. */
export interface SchemaProblem {
  file: string;
  problem: string;
}

/** Reads `<dir>/<RecordName>/v<N>.avsc`; files that are not JSON are reported, not thrown. */
export function readSchemaDirectory(dir: string): { versions: SchemaVersion[]; problems: SchemaProblem[] } {
  const versions: SchemaVersion[] = [];
  const problems: SchemaProblem[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const file of readdirSync(join(dir, entry.name)).sort()) {
      if (!file.endsWith('.avsc')) continue;
      const path = join(entry.name, file);
      const match = VERSION_FILE.exec(file);
      if (!match) {
        problems.push({ file: path, problem: 'schema files are named v<N>.avsc (v1.avsc, v2.avsc, ...)' });
        continue;
      }
      try {
        const schema = JSON.parse(readFileSync(join(dir, path), 'utf8')) as object;
        versions.push({ name: entry.name, version: Number(match[1]), schema });
      } catch (error) {
        problems.push({ file: path, problem: `not valid JSON: ${(error as Error).message}` });
      }
    }
  }
  versions.sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
  return { versions, problems };
}

export type FingerprintLock = Record<string, string>;

export function readFingerprintLock(path: string): FingerprintLock {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as FingerprintLock) : {};
}

export function versionKey(version: Pick<SchemaVersion, 'name' | 'version'>): string {
  return `${version.name}/v${version.version}`;
}
