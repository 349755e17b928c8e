import type { TaskCommand, TaskDefinition } from '@openpenpal/contracts';
import { validateCron, validateRunLimits } from '@openpenpal/cron';
import { SchedulerError, isSchedulerError } from '@openpenpal/errors';
import type { JsonObject } from '@openpenpal/event-store';
import { z } from 'zod';
import {
  CONCURRENCY_POLICIES,
  FIELD_DEFAULTS,
  LIMITS,
  RUNNABLE_TASK_TYPES,
  TASK_ID_PATTERN,
  TASK_MISFIRE_POLICIES,
  TASK_PRIORITIES,
  type TaskDefinitionFields,
} from './fields.ts';

/** One problem with one field, as the admin API reports it (`{error, details}`). */
export interface FieldProblem {
  field: string;
  problem: string;
}

/** VALIDATION_FAILED naming every bad field; `details.field` and `details.problem` are the first. */
export function validationFailed(problems: readonly FieldProblem[]): SchedulerError {
  const first = problems[0] ?? { field: '(input)', problem: 'invalid' };
  return new SchedulerError(
    'VALIDATION_FAILED',
    `invalid task: ${problems.map((p) => `${p.field}: ${p.problem}`).join('; ')}`,
    { details: { field: first.field, problem: first.problem, problems } },
  );
}

/**
 * The instants a task or a command may carry, in epoch milliseconds, both ends included. Every
 * consumer can store and print them: the recorder's read models keep them as PostgreSQL
 * `timestamptz` (4713 BC to 294276 AD) and `new Date(ms).toISOString()` fails beyond ±8.64e15;
 * a schedule outside this century is a typo, not a plan.
 */
export const TIME_RANGE = { min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) } as const;

const RANGE_TEXT = 'an instant from 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z';

const instant = z
  .int({ error: `${RANGE_TEXT}, as epoch milliseconds` })
  .min(TIME_RANGE.min, RANGE_TEXT)
  .max(TIME_RANGE.max, RANGE_TEXT);

const epochMs = z
  .union([z.int(), z.iso.datetime({ offset: true }).transform((text) => Date.parse(text))], {
    error: 'an epoch-millisecond integer or an ISO-8601 date-time with offset',
  })
  .pipe(instant);

const NO_CONTROL = /^[^\p{Cc}]*$/u;

/** An id from outside (a command id): non-empty, bounded, no control characters. */
const opaqueId = z
  .string({ error: 'a string' })
  .min(1, 'must not be empty')
  .max(LIMITS.taskIdLength, `at most ${LIMITS.taskIdLength} characters`)
  .regex(NO_CONTROL, 'no control characters');

/** Who asks or created: a user id or a service name. */
const actorName = z
  .string({ error: 'a string' })
  .refine((text) => text.trim() !== '', 'who asks: a non-empty user id or service name')
  .refine((text) => text.length <= LIMITS.nameLength, `at most ${LIMITS.nameLength} characters`)
  .refine((text) => NO_CONTROL.test(text), 'no control characters');

const jsonObject = z.custom<JsonObject>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  { error: 'a JSON object' },
);

/** A payload given as an object or as JSON text holding an object. */
const payload = z
  .union([jsonObject, z.string().transform((text, ctx) => parseJsonObject(text, ctx))], {
    error: 'a JSON object',
  })
  .superRefine((value, ctx) => {
    const size = Buffer.byteLength(JSON.stringify(value));
    if (size > LIMITS.payloadBytes)
      ctx.addIssue({ code: 'custom', message: `${size} bytes, more than ${LIMITS.payloadBytes}` });
  });

function parseJsonObject(text: string, ctx: z.RefinementCtx): JsonObject {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as JsonObject;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'JSON text that does not hold a JSON object' });
  return z.NEVER;
}

const enumOf = <T extends string>(values: readonly T[]) =>
  z.enum(values as [T, ...T[]], { error: `one of ${values.join(', ')}` });

const intIn = (min: number, max: number) =>
  z
    .int({ error: `an integer from ${min} to ${max}` })
    .min(min, `at least ${min}`)
    .max(max, `at most ${max}`);

const editable = {
  name: z
    .string({ error: 'a string' })
    .trim()
    .min(1, 'must not be empty')
    .max(LIMITS.nameLength, `at most ${LIMITS.nameLength} characters`),
  description: z
    .string({ error: 'a string or null' })
    .max(LIMITS.descriptionLength, `at most ${LIMITS.descriptionLength} characters`)
    .nullable(),
  task_type: enumOf(RUNNABLE_TASK_TYPES),
  priority: enumOf(TASK_PRIORITIES),
  cron_expression: z.string({ error: 'a cron expression or null' }).nullable(),
  timezone: z.string({ error: 'an IANA time zone name' }),
  scheduled_at: epochMs.nullable(),
  payload,
  max_retries: intIn(0, LIMITS.maxRetries),
  timeout_secs: intIn(1, LIMITS.timeoutSecs),
  start_date: epochMs.nullable(),
  end_date: epochMs.nullable(),
  max_runs: intIn(1, LIMITS.maxRuns).nullable(),
  misfire_policy: enumOf(TASK_MISFIRE_POLICIES),
  misfire_grace_ms: intIn(0, LIMITS.misfireGraceMs),
  misfire_fire_all_cap: intIn(1, LIMITS.fireAllCap),
  concurrency_policy: enumOf(CONCURRENCY_POLICIES),
};

const taskId = z
  .string({ error: 'a string' })
  .max(LIMITS.taskIdLength, `at most ${LIMITS.taskIdLength} characters`)
  .regex(TASK_ID_PATTERN, 'letters, digits and _ . : - only, starting with a letter or digit');

const createSchema = z.strictObject({
  ...editable,
  task_id: taskId.optional(),
  is_active: z.boolean({ error: 'true or false' }).optional(),
  description: editable.description.optional(),
  priority: editable.priority.optional(),
  cron_expression: editable.cron_expression.optional(),
  timezone: editable.timezone.optional(),
  scheduled_at: editable.scheduled_at.optional(),
  payload: editable.payload.optional(),
  max_retries: editable.max_retries.optional(),
  timeout_secs: editable.timeout_secs.optional(),
  start_date: editable.start_date.optional(),
  end_date: editable.end_date.optional(),
  max_runs: editable.max_runs.optional(),
  misfire_policy: editable.misfire_policy.optional(),
  misfire_grace_ms: editable.misfire_grace_ms.optional(),
  misfire_fire_all_cap: editable.misfire_fire_all_cap.optional(),
  concurrency_policy: editable.concurrency_policy.optional(),
});

const updateSchema = z.strictObject(
  Object.fromEntries(Object.entries(editable).map(([name, schema]) => [name, schema.optional()])) as {
    [K in keyof typeof editable]: z.ZodOptional<(typeof editable)[K]>;
  },
);

/** Fields a patch may not carry, with what to do instead. */
const NOT_UPDATABLE: Readonly<Record<string, string>> = {
  task_id: 'a task id never changes',
  is_active: 'use enable or disable',
  created_by: 'set when the task is created',
  created_at: 'set when the task is created',
  updated_at: 'set by every change',
};

function problemsOf(error: z.ZodError, refuse: Readonly<Record<string, string>> = {}): FieldProblem[] {
  return error.issues.flatMap((issue): FieldProblem[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: key, problem: refuse[key] ?? 'not a task field' }));
    }
    return [{ field: issue.path.map(String).join('.') || '(input)', problem: issue.message }];
  });
}

/** Runs one check that throws the cron package's field errors and collects its problem. */
function collect(problems: FieldProblem[], check: () => void): void {
  try {
    check();
  } catch (error) {
    if (!isSchedulerError(error) || error.code !== 'VALIDATION_FAILED') throw error;
    const { field, problem } = error.details;
    problems.push({
      field: typeof field === 'string' ? field : '(input)',
      problem: typeof problem === 'string' ? problem : error.message,
    });
  }
}

/** The fields the cross-field rules read (an Avro value may leave the nullable ones out). */
interface ScheduleFields {
  cron_expression?: string | null;
  timezone: string;
  scheduled_at?: number | null;
  start_date?: number | null;
  end_date?: number | null;
  max_runs?: number | null;
}

const SCHEDULE_FIELDS: ReadonlySet<string> = new Set<keyof ScheduleFields>([
  'cron_expression',
  'timezone',
  'scheduled_at',
  'start_date',
  'end_date',
  'max_runs',
]);

/** Checks an expression in a zone; throws the cron package's VALIDATION_FAILED naming the field. */
export type ScheduleCheck = (expression: string, timezone: string) => unknown;

/**
 * The rules across fields: not both a cron expression and a scheduled_at, the schedule and zone
 * through `check` (the cron package's `validateCron` unless the caller passes its own, e.g. a
 * cached one), the run limits through `validateRunLimits`.
 */
function crossFieldProblems(fields: ScheduleFields, problems: FieldProblem[], check: ScheduleCheck): void {
  if ((fields.cron_expression ?? null) !== null && (fields.scheduled_at ?? null) !== null) {
    problems.push({
      field: 'cron_expression',
      problem: 'a task has a cron expression or a scheduled_at, not both',
    });
  }
  // Without an expression the zone still matters (the handler reads nominal times in it): a daily
  // expression checks the zone alone.
  collect(problems, () => check(fields.cron_expression ?? '0 0 * * *', fields.timezone));
  collect(problems, () => {
    validateRunLimits({
      startDate: fields.start_date ?? undefined,
      endDate: fields.end_date ?? undefined,
      maxRuns: fields.max_runs ?? undefined,
    });
  });
}

/**
 * The rules across fields, on a complete definition: the schedule and zone through the cron package's
 * `validateCron` (the very function the ticker runs them with), the run limits through
 * `validateRunLimits`. Returns the definition with the expression trimmed and the zone spelled as Intl
 * spells it.
 */
export function checkDefinition(fields: TaskDefinitionFields): TaskDefinitionFields {
  const problems: FieldProblem[] = [];
  let { cron_expression: cronExpression, timezone } = fields;
  crossFieldProblems(fields, problems, (expression, zone) => {
    const schedule = validateCron(expression, zone);
    timezone = schedule.timezone;
    if (cronExpression !== null) cronExpression = schedule.expression;
  });
  if (problems.length > 0) throw validationFailed(problems);
  return { ...fields, cron_expression: cronExpression, timezone };
}

/** A TaskDefinition value as the task-definitions topic carries it (payload as JSON text). */
const definitionValueSchema = z.object({
  ...editable,
  task_id: taskId,
  is_active: z.boolean({ error: 'true or false' }),
  revision: z.int({ error: 'a non-negative integer' }).min(0, 'at least 0'),
  created_by: actorName,
  created_at: instant,
  updated_at: instant,
});

/**
 * Checks a whole `TaskDefinition` value from the task-definitions topic with the rules the admin API
 * applies to a request (the same field rules, plus the task id, revision, creator and times the API
 * sets itself), so a consumer accepts exactly what the API could have written. Throws
 * VALIDATION_FAILED naming every bad field. `schedule` replaces `validateCron` (a consumer that
 * caches compiled schedules passes its cache).
 */
export function checkDefinitionValue(
  value: TaskDefinition,
  options: { schedule?: ScheduleCheck } = {},
): void {
  const parsed = definitionValueSchema.safeParse(value);
  const problems = parsed.success ? [] : problemsOf(parsed.error);
  // The rules across fields only once their fields passed on their own: one problem per field.
  if (!problems.some((p) => SCHEDULE_FIELDS.has(p.field)))
    crossFieldProblems(value, problems, options.schedule ?? validateCron);
  if (problems.length > 0) throw validationFailed(problems);
}

/** A TaskCommand value as the task-commands topic carries it. */
const commandValueSchema = z
  .object({
    command_id: opaqueId,
    command: z.enum(['pause', 'resume', 'run_now', 'unknown'], {
      error: 'one of pause, resume, run_now',
    }),
    task_id: taskId.nullable(),
    requested_by: actorName,
    requested_at: instant,
    reason: z
      .string({ error: 'text or null' })
      .max(LIMITS.descriptionLength, `at most ${LIMITS.descriptionLength} characters`)
      .nullable(),
    payload_override: payload.nullable(),
  })
  .superRefine((command, ctx) => {
    if (command.command === 'run_now' && command.task_id === null) {
      ctx.addIssue({ code: 'custom', path: ['task_id'], message: 'a run_now names its task' });
    }
  });

/**
 * Checks a `TaskCommand` value from the task-commands topic with the same rules as the API's
 * commands: ids without control characters, a requester, `requested_at` within TIME_RANGE (it is
 * the nominal time of a run_now), a payload override that is a JSON object within the size limit.
 * Throws VALIDATION_FAILED naming every bad field.
 */
export function checkCommandValue(value: TaskCommand): void {
  const parsed = commandValueSchema.safeParse(value);
  if (!parsed.success) throw validationFailed(problemsOf(parsed.error));
}

export interface CreateInput {
  taskId: string | undefined;
  isActive: boolean;
  fields: TaskDefinitionFields;
}

/** Parses a create request (the admin API's JSON body): every problem is reported with its field. */
export function parseCreateInput(input: unknown): CreateInput {
  const parsed = createSchema.safeParse(input);
  if (!parsed.success) throw validationFailed(problemsOf(parsed.error));
  const { task_id: id, is_active: isActive, ...given } = parsed.data;
  const fields: TaskDefinitionFields = {
    ...FIELD_DEFAULTS,
    ...stripUndefined(given),
  } as TaskDefinitionFields;
  return { taskId: id, isActive: isActive ?? true, fields: checkDefinition(fields) };
}

/** Parses an update (a patch: only the fields to change). Cross-field rules run on the merged result. */
export function parseUpdateInput(input: unknown): Partial<TaskDefinitionFields> {
  const parsed = updateSchema.safeParse(input);
  if (!parsed.success) throw validationFailed(problemsOf(parsed.error, NOT_UPDATABLE));
  return stripUndefined(parsed.data);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Checks the actor named on a command: every event says who caused it. */
export function assertActor(actor: unknown): asserts actor is string {
  const parsed = actorName.safeParse(actor);
  if (!parsed.success)
    throw validationFailed(problemsOf(parsed.error).map((p) => ({ ...p, field: 'actor' })));
}

export function assertTaskId(id: unknown): asserts id is string {
  const parsed = taskId.safeParse(id);
  if (!parsed.success)
    throw validationFailed(problemsOf(parsed.error).map((p) => ({ ...p, field: 'task_id' })));
}

/** A reason is optional free text for the history. */
export function checkReason(reason: unknown): string | null {
  if (reason === undefined || reason === null) return null;
  if (typeof reason !== 'string' || reason.length > LIMITS.descriptionLength) {
    throw validationFailed([
      { field: 'reason', problem: `text of at most ${LIMITS.descriptionLength} characters` },
    ]);
  }
  return reason;
}

/** A run-now payload override: a JSON object (or its JSON text), or none. */
export function checkPayloadOverride(value: unknown): JsonObject | null {
  if (value === undefined || value === null) return null;
  const parsed = payload.safeParse(value);
  if (!parsed.success) {
    throw validationFailed(problemsOf(parsed.error).map((p) => ({ ...p, field: 'payload_override' })));
  }
  return parsed.data;
}
