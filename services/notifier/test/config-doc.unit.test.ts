import { documentedSettings } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import { notifierConfigSchema } from '../src/config.ts';

describe('configuration docs', () => {
  it('lists every variable of the config schema in the README table, and nothing else', () => {
    expect(documentedSettings(new URL('../README.md', import.meta.url)).sort()).toEqual(
      Object.keys(notifierConfigSchema.shape).sort(),
    );
  });
});
