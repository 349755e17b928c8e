import { SchedulerError } from '@openpenpal/errors';

/** A time in a query string: epoch milliseconds or ISO-8601 with offset. */
export function parseInstantQuery(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms) || (!/^\d+$/.test(value) && !/(Z|[+-]\d{2}:?\d{2})$/.test(value))) {
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
  return ms;
}
