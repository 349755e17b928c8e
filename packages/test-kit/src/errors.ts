import { expect } from 'vitest';

/**
 * Matches a SchedulerError (or anything with a `code`) by its code, and optionally by part of its
 * message and its details: `await expect(p).rejects.toEqual(errorWithCode('CONFLICT'))`.
 */
export function errorWithCode(
  code: string,
  extra: { message?: RegExp | string; details?: object } = {},
): unknown {
  const expected: Record<string, unknown> = { code };
  if (extra.message !== undefined) {
    expected.message =
      typeof extra.message === 'string'
        ? (expect.stringContaining(extra.message) as unknown)
        : (expect.stringMatching(extra.message) as unknown);
  }
  if (extra.details !== undefined) expected.details = expect.objectContaining(extra.details) as unknown;
  return expect.objectContaining(expected) as unknown;
}
