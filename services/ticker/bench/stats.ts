// Percentiles of the ticker benchmark (fire lag in ms, stage durations per instant).

export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export interface LagSummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** p50 … max of the first `count` values of `values` (sorted in place). */
export function summarize(values: Float64Array, count: number): LagSummary {
  const sorted = values.subarray(0, count).sort();
  return {
    p50: round(quantile(sorted, 0.5)),
    p90: round(quantile(sorted, 0.9)),
    p99: round(quantile(sorted, 0.99)),
    p999: round(quantile(sorted, 0.999)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

/** p50 / p99 / max of each numeric field over the rows (one row per instant). */
export function stageSummary(rows: readonly object[]): Record<string, LagSummary> {
  const out: Record<string, LagSummary> = {};
  const first = rows[0];
  if (!first) return out;
  for (const key of Object.keys(first)) {
    const values = Float64Array.from(rows.map((r) => Number((r as Record<string, unknown>)[key])));
    out[key] = summarize(values, values.length);
  }
  return out;
}
