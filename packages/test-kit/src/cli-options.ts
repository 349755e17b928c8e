/**
 * A command-line option of the benchmark and fault runners that must be a positive number: the
 * fallback when it was not given, a clear error naming the option when it is not a positive number.
 */
export function positiveOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new Error(`--${name} must be a positive number, got ${value}`);
  }
  return parsed;
}
