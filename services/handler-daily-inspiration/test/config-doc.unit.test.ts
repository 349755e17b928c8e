import { handlerConfigSchema } from '@openpenpal/handler-kit';
import { documentedSettings } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import { inspirationConfigSchema } from '../src/config.ts';

describe('configuration docs', () => {
  it('lists every setting of its own (beyond the runtime and the kit) in the README table', () => {
    const kit = new Set(Object.keys(handlerConfigSchema('writing_inspiration_push', 0).shape));
    const own = Object.keys(inspirationConfigSchema.shape).filter((name) => !kit.has(name));
    expect(documentedSettings(new URL('../README.md', import.meta.url)).sort()).toEqual(own.sort());
  });
});
