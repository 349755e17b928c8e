import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTaskHandler, type HandlerCatalogue } from '../src/index.ts';

const report = defineTaskHandler({
  taskType: 'daily_report',
  payloadSchema: z.object({}),
  handle: () => Promise.resolve({ status: 'succeeded' as const }),
});
const analytics = defineTaskHandler({
  taskType: 'weekly_analytics',
  payloadSchema: z.object({ weeks: z.number() }),
  handle: () => Promise.resolve({ status: 'succeeded' as const }),
});

describe('handler catalogue', () => {
  it('maps every task type of the catalogue to its handler, and a missing or misplaced one does not compile', () => {
    const catalogue = { daily_report: report, weekly_analytics: analytics } satisfies HandlerCatalogue<
      'daily_report' | 'weekly_analytics'
    >;
    // @ts-expect-error -- weekly_analytics has no handler
    const missing = { daily_report: report } satisfies HandlerCatalogue<'daily_report' | 'weekly_analytics'>;
    // @ts-expect-error -- a handler under another task type's name
    const swapped = { daily_report: analytics } satisfies HandlerCatalogue<'daily_report'>;
    expect(Object.keys(catalogue)).toEqual(['daily_report', 'weekly_analytics']);
    expect([missing, swapped]).toHaveLength(2);
  });
});
