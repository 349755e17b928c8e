import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tickerConfigShape } from '../src/config.ts';

describe('configuration docs', () => {
  it('lists every variable of the config schema in the README table, and nothing else', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
    );
    const documented = [...section.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(tickerConfigShape).sort());
  });
});
