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

const epochMs = z.union(
  [z.int().min(0), z.iso.datetime({ offset: true }).transform((text) => Date.parse(text))],
  {
    error: 'an epoch-millisecond integer or an ISO-8601 date-time with offset',
  },
);

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

/**
 * The rules across fields, on a complete definition: the schedule and zone through the cron package's
 * `validateCron` (the very function the ticker runs them with), the run limits through
 * `validateRunLimits`. Returns the definition with the expression trimmed and the zone spelled as Intl
 * spells it.
 */
export function checkDefinition(fields: TaskDefinitionFields): TaskDefinitionFields {
  const problems: FieldProblem[] = [];
  let { cron_expression: cronExpression, timezone } = fields;
  if (cronExpression !== null && fields.scheduled_at !== null) {
    problems.push({
      field: 'cron_expression',
      problem: 'a task has a cron expression or a scheduled_at, not both',
    });
  }
  collect(problems, () => {
    // Without an expression the zone still matters (the handler reads nominal times in it): a daily
    // expression checks the zone alone.
    const schedule = validateCron(cronExpression ?? '0 0 * * *', timezone);
    timezone = schedule.timezone;
    if (cronExpression !== null) cronExpression = schedule.expression;
  });
  collect(problems, () => {
    validateRunLimits({
      startDate: fields.start_date ?? undefined,
      endDate: fields.end_date ?? undefined,
      maxRuns: fields.max_runs ?? undefined,
    });
  });
  if (problems.length > 0) throw validationFailed(problems);
  return { ...fields, cron_expression: cronExpression, timezone };
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
  if (typeof actor !== 'string' || actor.trim() === '') {
    throw validationFailed([{ field: 'actor', problem: 'who asks: a non-empty user id or service name' }]);
  }
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
