import { describe, expect, it } from 'vitest';
import { positiveOption } from '../src/cli-options.ts';

describe('positiveOption', () => {
  it('gives the fallback when the option was not given, and the number when it was', () => {
    expect(positiveOption('rate', undefined, 15)).toBe(15);
    expect(positiveOption('rate', '2.5', 15)).toBe(2.5);
  });

  it.each(['0', '-3', 'ten', '', 'Infinity'])('refuses %j, naming the option', (value) => {
    expect(() => positiveOption('rate', value, 15)).toThrow(`--rate must be a positive number, got ${value}`);
  });
});
