import { SchedulerError } from '@openpenpal/errors';
import { expect } from 'vitest';

/** An ISO UTC string as epoch ms; tests write every instant this way so a reader can check it. */
export function at(iso: string): number {
  const value = Date.parse(iso);
  if (!iso.endsWith('Z') || Number.isNaN(value)) throw new Error(`not an ISO UTC instant: ${iso}`);
  return value;
}

export function iso(instant: number | undefined): string | undefined {
  return instant === undefined ? undefined : new Date(instant).toISOString();
}

export function isoList(instants: readonly number[]): string[] {
  return instants.map((instant) => new Date(instant).toISOString());
}

/** Runs `fn`, expects a SchedulerError, and returns it for closer checks. */
export function caught(fn: () => unknown): SchedulerError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SchedulerError);
    return error as SchedulerError;
  }
  throw new Error('expected a SchedulerError, nothing was thrown');
}
