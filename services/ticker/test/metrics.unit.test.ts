import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createTickerMetrics } from '../src/metrics/metrics.ts';

async function value(registry: Registry, name: string, suffix = ''): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? [])
    .filter(
      (v) =>
        (v as { metricName?: string }).metricName === undefined ||
        (v as { metricName?: string }).metricName === `${name}${suffix}`,
    )
    .reduce((sum, v) => sum + v.value, 0);
}

describe('ticker metrics', () => {
  it('keeps a fire later than its misfire grace (a catch-up after downtime) out of the fire lag', async () => {
    const registry = new Registry();
    const { observer } = createTickerMetrics({
      registry,
      taskCounts: () => ({ active: 0, inactive: 0, invalid: 0 }),
      deadLettersPending: () => 0,
    });
    const ackAt = Date.UTC(2027, 0, 1, 9);
    observer.acknowledged(
      [
        { nominal: ackAt - 12, taskType: 'letter_cleanup', source: 'cron', graceMs: 60_000 },
        { nominal: ackAt - 3 * 3_600_000, taskType: 'letter_cleanup', source: 'cron', graceMs: 60_000 },
      ],
      ackAt,
    );
    expect(await value(registry, 'scheduler_ticker_fire_lag_seconds', '_count')).toBe(1);
    expect(await value(registry, 'scheduler_ticker_fire_lag_seconds', '_sum')).toBeCloseTo(0.012);
    expect(await value(registry, 'scheduler_ticker_misfire_fired_total')).toBe(1);
    expect(await value(registry, 'scheduler_ticker_fired_total')).toBe(2);
  });
});
