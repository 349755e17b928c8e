import { SchedulerError } from '@openpenpal/errors';
import { describe, expect, it } from 'vitest';
import { isDataError } from '../src/read-models/parked-events.ts';

const pgError = (code: string) => Object.assign(new Error(`SQLSTATE ${code}`), { code });

describe('telling an event that cannot be applied from an outage', () => {
  it('parks PostgreSQL data exceptions and integrity violations, invalid dates and refused values', () => {
    for (const error of [
      pgError('22003'), // integer out of range
      pgError('22008'), // datetime field overflow
      pgError('22P05'), // untranslatable character
      pgError('23502'), // not-null violation
      new RangeError('Invalid time value'),
      new SchedulerError('VALIDATION_FAILED', 'refused'),
    ]) {
      expect(isDataError(error), String(error)).toBe(true);
    }
  });

  it('retries lost connections, missing tables and everything else', () => {
    for (const error of [
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      pgError('08006'), // connection failure
      pgError('57P01'), // admin shutdown
      pgError('40001'), // serialization failure
      pgError('42P01'), // undefined table
      new SchedulerError('DEPENDENCY_UNAVAILABLE', 'store away'),
      new TypeError('a bug'),
    ]) {
      expect(isDataError(error), String(error)).toBe(false);
    }
  });
});
