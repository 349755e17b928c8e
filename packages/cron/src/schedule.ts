import { Cron } from 'croner';
import { SchedulerError } from '@openpenpal/errors';
import { validationError } from './validation-error.ts';

/** The platform's default zone (openpenpal-domain.md §1), used when a definition names none. */
export const DEFAULT_TIMEZONE = 'Asia/Shanghai';

/** The descriptors the scheduler accepts, with the five-field expression each stands for. */
export const CRON_DESCRIPTORS = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
} as const satisfies Record<string, string>;

type Descriptor = keyof typeof CRON_DESCRIPTORS;

/** A validated cron expression bound to its zone. Only `validateCron` makes these. */
export interface CronSchedule {
  /** The expression as given, without surrounding whitespace. */
  readonly expression: string;
  /** The zone's IANA name as Intl spells it (case fixed, e.g. `europe/berlin` → `Europe/Berlin`). */
  readonly timezone: string;
  readonly format: 'five_field' | 'six_field' | 'descriptor';
}

/** Zone names as given → as Intl spells them; building a DateTimeFormat costs tens of µs. */
const resolvedZones = new Map<string, string>();

/** Wall-clock matchers, kept off the public object so a copied or hand-made schedule is refused. */
const matchers = new WeakMap<CronSchedule, Cron>();

const FIELDS = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day-of-week', min: 0, max: 7 },
] as const;

/**
 * Where the "never fires" check starts. The Gregorian calendar repeats every 400 years and croner
 * searches up to year 9999, so no match from here on means no match on any date (30 February).
 */
const NEVER_FIRES_PROBE = new Date(Date.UTC(2000, 0, 1));

function invalid(field: 'cron_expression' | 'timezone', problem: string): SchedulerError {
  return validationError(field, problem);
}

function isDescriptor(value: string): value is Descriptor {
  return Object.hasOwn(CRON_DESCRIPTORS, value);
}

/**
 * Croner reports some range errors with internal zero-based numbers ("day: 31" for 32), so plain
 * numbers are range-checked here first, naming the field the way a user wrote it.
 */
function checkNumericRanges(parts: readonly string[]): void {
  const fields = parts.length === 6 ? FIELDS : FIELDS.slice(1);
  parts.forEach((part, index) => {
    const field = fields[index];
    if (field === undefined) return;
    for (const item of part.split(',')) {
      const base = item.split('/')[0]?.split('#')[0] ?? '';
      for (const match of base.matchAll(/\d+/g)) {
        const value = Number(match[0]);
        if (value < field.min || value > field.max) {
          throw invalid(
            'cron_expression',
            `${field.name} value ${value} is outside ${field.min}-${field.max}`,
          );
        }
      }
    }
  });
}

function parseExpression(expression: string): { format: CronSchedule['format']; matcher: Cron } {
  const lowered = expression.toLowerCase();
  let pattern = expression;
  let format: CronSchedule['format'];
  if (lowered.startsWith('@')) {
    if (lowered === '@reboot') {
      throw invalid(
        'cron_expression',
        '@reboot is not supported: the ticker fires on a clock, not on start-up',
      );
    }
    if (!isDescriptor(lowered)) {
      throw invalid(
        'cron_expression',
        `unknown descriptor ${expression}; accepted: ${Object.keys(CRON_DESCRIPTORS).join(', ')}`,
      );
    }
    pattern = CRON_DESCRIPTORS[lowered];
    format = 'descriptor';
  } else {
    const parts = expression.split(/\s+/);
    if (parts.length !== 5 && parts.length !== 6) {
      throw invalid(
        'cron_expression',
        `expected 5 fields (minute hour day-of-month month day-of-week), 6 fields (seconds first) or a descriptor such as @daily, got ${parts.length} field${parts.length === 1 ? '' : 's'}`,
      );
    }
    checkNumericRanges(parts);
    format = parts.length === 6 ? 'six_field' : 'five_field';
  }
  let matcher: Cron;
  try {
    // utcOffset 0 makes croner match plain wall-clock fields with no DST handling of its own; the
    // zone's DST rules are applied in fire-times.ts (croner's rules differ for interval jobs).
    matcher = new Cron(pattern, { utcOffset: 0, mode: '5-or-6-parts' });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw invalid('cron_expression', message.replace(/^CronPattern:\s*/, ''));
  }
  if (matcher.nextRun(NEVER_FIRES_PROBE) === null) {
    throw invalid(
      'cron_expression',
      'the expression matches no date (such as 30 February), so it never fires',
    );
  }
  return { format, matcher };
}

// A croner matcher holds tens of KiB of lookup tables and answers nextRun() from its pattern
// alone, so schedules with one expression share one (10,000 tasks on a handful of expressions
// would otherwise hold 10,000 matchers). Bounded: the oldest entry goes first.
const MAX_CACHED_EXPRESSIONS = 10_000;
const parsedExpressions = new Map<string, ReturnType<typeof parseExpression>>();

function parsedExpression(expression: string): ReturnType<typeof parseExpression> {
  let parsed = parsedExpressions.get(expression);
  if (!parsed) {
    parsed = parseExpression(expression);
    if (parsedExpressions.size >= MAX_CACHED_EXPRESSIONS) {
      const oldest = parsedExpressions.keys().next().value;
      if (oldest !== undefined) parsedExpressions.delete(oldest);
    }
    parsedExpressions.set(expression, parsed);
  }
  return parsed;
}

function parseTimezone(timezone: string): string {
  if (timezone.trim() === '') throw invalid('timezone', 'time zone is empty');
  // Intl also takes UTC offsets ("+08:00"); they have no DST history, so they are not zones here.
  if (/^[+\-\u2212\d]/.test(timezone)) {
    throw invalid(
      'timezone',
      `${timezone} is a UTC offset, not an IANA time zone name such as Asia/Shanghai`,
    );
  }
  const known = resolvedZones.get(timezone);
  if (known !== undefined) return known;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
    resolvedZones.set(timezone, resolved);
    return resolved;
  } catch {
    throw invalid('timezone', `${timezone} is not an IANA time zone name known to this runtime`);
  }
}

/**
 * The one validation for cron expressions, used by the ticker and the admin API alike. Accepts
 * five fields, six fields (seconds first) and the descriptors in CRON_DESCRIPTORS, plus croner's
 * L, W, # and + extensions; rejects everything else with VALIDATION_FAILED naming the field.
 */
export function validateCron(expression: unknown, timezone: unknown = DEFAULT_TIMEZONE): CronSchedule {
  if (typeof expression !== 'string') throw invalid('cron_expression', 'must be a string');
  if (typeof timezone !== 'string') throw invalid('timezone', 'must be a string');
  const trimmed = expression.trim();
  if (trimmed === '') throw invalid('cron_expression', 'expression is empty');
  const { format, matcher } = parsedExpression(trimmed);
  const schedule: CronSchedule = Object.freeze({
    expression: trimmed,
    timezone: parseTimezone(timezone),
    format,
  });
  matchers.set(schedule, matcher);
  return schedule;
}

/** The next matching wall time strictly after the given one (both as UTC-encoded wall times). */
export function nextMatchingWallTime(schedule: CronSchedule, afterWall: number): number | undefined {
  const matcher = matchers.get(schedule);
  if (matcher === undefined) {
    throw new SchedulerError('INTERNAL', 'schedule was not made by validateCron', {
      details: { expression: schedule.expression },
    });
  }
  return matcher.nextRun(new Date(afterWall))?.getTime();
}
