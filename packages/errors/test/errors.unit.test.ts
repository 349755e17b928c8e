import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, SchedulerError, errorCodeOf, errorCodes, isRetryable, toError } from '../src/index.ts';

describe('SchedulerError', () => {
  it('takes its retryable flag from the code unless told otherwise', () => {
    expect(new SchedulerError('TIMEOUT', 't').retryable).toBe(true);
    expect(new SchedulerError('VALIDATION_FAILED', 'v').retryable).toBe(false);
    expect(new SchedulerError('TIMEOUT', 't', { retryable: false }).retryable).toBe(false);
  });

  it('keeps the cause and details', () => {
    const cause = new Error('socket hang up');
    const error = new SchedulerError('DEPENDENCY_UNAVAILABLE', 'redis down', {
      cause,
      details: { host: 'r' },
    });
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ host: 'r' });
    expect(error).toBeInstanceOf(Error);
  });

  it('treats unclassified errors as retryable with code HANDLER_FAILED', () => {
    expect(isRetryable(new TypeError('x'))).toBe(true);
    expect(errorCodeOf(new TypeError('x'))).toBe('HANDLER_FAILED');
    expect(errorCodeOf(new SchedulerError('NOT_FOUND', 'n'))).toBe('NOT_FOUND');
    expect(isRetryable(new SchedulerError('NON_RETRYABLE_FAILURE', 'n'))).toBe(false);
  });

  it('wraps thrown non-errors', () => {
    expect(toError('boom').message).toBe('boom');
    expect(toError({ a: 1 }).message).toBe('{"a":1}');
  });
});

describe('error catalogue', () => {
  it('documents every code in docs/errors.md with its retryable flag', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of errorCodes) {
      const row = new RegExp(`^\\|\\s*\`${code}\`\\s*\\|\\s*(yes|no)\\s*\\|`, 'm').exec(doc);
      expect(row, `docs/errors.md lacks a row for ${code}`).not.toBeNull();
      expect(row?.[1]).toBe(ERROR_CODES[code].retryable ? 'yes' : 'no');
    }
  });
});
