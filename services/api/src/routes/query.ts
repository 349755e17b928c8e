import { SchedulerError } from '@openpenpal/errors';
import { isoInstant } from '../http/schemas.ts';

/** A time in a query string: epoch milliseconds or ISO-8601 with offset. */
export function parseInstantQuery(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const epoch = /^\d{1,15}$/.test(value);
  // Date.parse alone takes 2026-02-30 as 2 March: the ISO text is checked with the calendar first.
  if (!epoch && !isoInstant.safeParse(value).success) {
    throw new SchedulerError(
      'VALIDATION_FAILED',
      `invalid request: query.${name}: epoch ms or ISO-8601 with offset`,
      {
        details: {
          field: `query.${name}`,
          problem: 'epoch milliseconds or an ISO-8601 date-time with offset',
        },
      },
    );
  }
  return epoch ? Number(value) : Date.parse(value);
}
