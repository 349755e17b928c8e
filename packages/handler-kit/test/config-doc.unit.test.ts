import { documentedSettings } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import { handlerConfigSchema } from '../src/index.ts';

describe('configuration docs', () => {
  it('lists every setting of its own in the README table', () => {
    const own = Object.keys(handlerConfigSchema('daily_report', 0).shape).filter((name) =>
      name.startsWith('HANDLER_'),
    );
    expect(documentedSettings(new URL('../README.md', import.meta.url)).sort()).toEqual(own.sort());
  });
});
