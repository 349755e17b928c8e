import { readFileSync } from 'node:fs';

/**
 * The variables a README documents: the first-column code spans (`NAME`) of the tables in its
 * `## Configuration` section. A service's config test compares them with its schema's keys.
 */
export function documentedSettings(readme: URL): string[] {
  const text = readFileSync(readme, 'utf8');
  const start = text.indexOf('## Configuration');
  if (start < 0) throw new Error(`${readme.pathname} has no "## Configuration" section`);
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^\| `([A-Z0-9_]+)`/gm)].map((match) => match[1] ?? '');
}
