import { expect } from 'vitest';

/**
 * Matches a SchedulerError (or anything with a `code`) by its code, and optionally by part of its
 * message and its details: `await expect(p).rejects.toEqual(errorWithCode('CONFLICT'))`.
 */
export function errorWithCode(
  code: string,
  extra: { message?: RegExp | string; details?: object } = {},
): unknown {
  return expect.objectContaining({
    code,
    ...(extra.message === undefined
      ? {}
      : {
          message:
            typeof extra.message === 'string'
              ? expect.stringContaining(extra.message)
              : expect.stringMatching(extra.message),
        }),
    ...(extra.details === undefined ? {} : { details: expect.objectContaining(extra.details) }),
  });
}
