import { MISFIRE_POLICIES } from '@openpenpal/cron';
import {
  CONCURRENCY_POLICIES,
  EXECUTION_STATUSES,
  LIMITS,
  RUNNABLE_TASK_TYPES,
  TASK_PRIORITIES,
  TIME_RANGE,
} from '@openpenpal/task-definitions';
import { z } from 'zod';
import { EVENT_EXAMPLE, EXECUTION_EXAMPLE, TASK_EXAMPLE } from './examples.ts';

/*
 * Request and response schemas shared by the routes. Requests are checked twice on purpose: these
 * schemas give the types and the OpenAPI document, and the task-definitions package applies the
 * domain's rules (cron in the zone, run limits, payload size) with the field named in the error.
 */

const enumOf = <T extends string>(values: readonly T[]) => z.enum(values as [T, ...T[]]);

/** An ISO-8601 date-time with offset (calendar-checked: no 30 February). */
export const isoInstant = z.iso.datetime({ offset: true });

/**
 * An instant in: epoch milliseconds or an ISO-8601 date-time with offset, within the century every
 * time of the scheduler is kept to (TIME_RANGE), so a typo is refused here rather than by the
 * consumer of the event it would become.
 */
export const instantIn = z
  .union([z.int(), isoInstant])
  .refine(
    (value) => {
      const ms = typeof value === 'number' ? value : Date.parse(value);
      return ms >= TIME_RANGE.min && ms <= TIME_RANGE.max;
    },
    { error: 'an instant from 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z' },
  )
  .describe('epoch milliseconds, or an ISO-8601 date-time with offset; 2000-01-01 to 2100-01-01');

/** An id in a path: what the route's ids allow, never control characters (PostgreSQL refuses NUL). */
export const pathId = (maxLength: number) =>
  z
    .string()
    .min(1)
    .max(maxLength)
    .regex(/^[^\p{Cc}]*$/u, 'no control characters');
/** An instant out: ISO-8601 in UTC. */
const instantOut = z.iso.datetime().describe('ISO-8601 date-time, UTC');

const taskTypeSchema = enumOf(RUNNABLE_TASK_TYPES).meta({ id: 'TaskType' });
const prioritySchema = enumOf(TASK_PRIORITIES);
const jsonObject = z.record(z.string(), z.unknown());

const editable = {
  name: z.string().min(1).max(LIMITS.nameLength),
  description: z.string().max(LIMITS.descriptionLength).nullable(),
  task_type: taskTypeSchema,
  priority: prioritySchema,
  cron_expression: z
    .string()
    .nullable()
    .describe('5 fields, 6 fields (with seconds) or a descriptor (@hourly); null for a one-off task'),
  timezone: z.string().describe('IANA time zone, e.g. Asia/Shanghai'),
  scheduled_at: instantIn.nullable().describe('the one run of a one-off task'),
  payload: jsonObject.describe("the handler's input, checked against the task type's payload schema"),
  max_retries: z.int().min(0).max(LIMITS.maxRetries),
  timeout_secs: z.int().min(1).max(LIMITS.timeoutSecs),
  start_date: instantIn.nullable(),
  end_date: instantIn.nullable(),
  max_runs: z.int().min(1).max(LIMITS.maxRuns).nullable(),
  misfire_policy: enumOf(MISFIRE_POLICIES),
  misfire_grace_ms: z.int().min(0).max(LIMITS.misfireGraceMs),
  misfire_fire_all_cap: z.int().min(1).max(LIMITS.fireAllCap),
  concurrency_policy: enumOf(CONCURRENCY_POLICIES),
};

export const createTaskBody = z
  .strictObject({
    task_id: z.string().max(LIMITS.taskIdLength).optional().describe('default: a new UUID'),
    is_active: z.boolean().optional(),
    name: editable.name,
    task_type: editable.task_type,
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
  })
  .meta({
    id: 'TaskCreate',
    example: {
      name: 'Nightly letter cleanup',
      task_type: 'letter_cleanup',
      cron_expression: '0 3 * * *',
      timezone: 'Asia/Shanghai',
      payload: { days_old: 7, target_status: 'draft_cleanup' },
      max_retries: 3,
      timeout_secs: 1800,
    },
  });

export const updateTaskBody = z
  .strictObject({
    name: editable.name.optional(),
    description: editable.description.optional(),
    task_type: editable.task_type.optional(),
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
  })
  .meta({ id: 'TaskUpdate', example: { cron_expression: '30 3 * * *', max_retries: 5 } });

export const reasonBody = z
  .object({ reason: z.string().max(LIMITS.descriptionLength).nullable().optional() })
  .nullish();

export const runNowBody = z
  .object({
    reason: z.string().max(LIMITS.descriptionLength).nullable().optional(),
    payload_override: jsonObject.nullable().optional().describe('replaces the payload for this run only'),
  })
  .nullish();

const taskStatusSchema = z.enum(['pending', 'running', 'completed', 'failed']);

export const taskView = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    task_type: z.string(),
    priority: z.string(),
    status: taskStatusSchema.describe('derived from its executions'),
    cron_expression: z.string().nullable(),
    timezone: z.string(),
    scheduled_at: instantOut.nullable(),
    next_run_at: instantOut.nullable().describe("computed with the ticker's cron function"),
    last_run_at: instantOut.nullable(),
    last_status: z.string().nullable(),
    run_count: z.int(),
    failure_count: z.int(),
    payload: jsonObject,
    max_retries: z.int(),
    timeout_secs: z.int(),
    is_active: z.boolean(),
    start_date: instantOut.nullable(),
    end_date: instantOut.nullable(),
    max_runs: z.int().nullable(),
    misfire_policy: z.string(),
    misfire_grace_ms: z.int(),
    misfire_fire_all_cap: z.int(),
    concurrency_policy: z.string(),
    last_result: z.string().nullable(),
    last_error: z.string().nullable(),
    created_by: z.string(),
    created_at: instantOut,
    updated_at: instantOut,
    revision: z.int().describe('the stream revision; send it back in If-Match'),
  })
  .meta({ id: 'Task', example: TASK_EXAMPLE });

export type TaskView = z.output<typeof taskView>;

export const SORT_FIELDS = [
  'created_at',
  'updated_at',
  'name',
  'priority',
  'task_type',
  'last_run_at',
  'run_count',
] as const;

const booleanText = z
  .enum(['true', 'false'])
  .transform((text) => text === 'true')
  .describe('true or false');

export const listTasksQuery = z.strictObject({
  task_type: taskTypeSchema.optional(),
  priority: prioritySchema.optional(),
  status: taskStatusSchema.optional(),
  is_active: booleanText.optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  page_size: z.coerce.number().int().min(1).max(100).default(20),
  sort_by: z.enum(SORT_FIELDS).default('created_at'),
  sort_order: z.enum(['asc', 'desc']).default('desc'),
});

export const taskPage = z
  .object({
    tasks: z.array(taskView),
    total: z.int(),
    page: z.int(),
    page_size: z.int(),
  })
  .meta({ id: 'TaskPage', example: { tasks: [TASK_EXAMPLE], total: 1, page: 1, page_size: 20 } });

export const taskIdParams = z.object({ id: pathId(LIMITS.taskIdLength) });

export const commandAnswer = z
  .object({
    task: taskView,
    changed: z.boolean().describe('false when the command changed nothing'),
  })
  .meta({ id: 'TaskCommandResult', example: { task: TASK_EXAMPLE, changed: true } });

const executionStatusSchema = enumOf(EXECUTION_STATUSES);

export const executionView = z
  .object({
    execution_id: z.string(),
    task_id: z.string(),
    task_type: z.string(),
    status: z.string(),
    attempts: z.int(),
    nominal_time: instantOut.nullable(),
    started_at: instantOut.nullable(),
    finished_at: instantOut.nullable(),
    duration_ms: z.number().nullable(),
    error_code: z.string().nullable(),
    error_message: z.string().nullable(),
    worker: z.string().nullable(),
    source: z.string().nullable(),
    original_execution_id: z.string().nullable(),
    business_key: z.string().nullable(),
    trigger_topic: z.string().nullable(),
    result: z.string().nullable(),
    replayed_as: z.string().nullable(),
    updated_at: instantOut,
  })
  .meta({ id: 'Execution', example: EXECUTION_EXAMPLE });

export type ExecutionView = z.output<typeof executionView>;

export const listExecutionsQuery = z.strictObject({
  task_id: z.string().max(LIMITS.taskIdLength).optional(),
  status: executionStatusSchema.optional(),
  from: z.string().max(40).optional().describe('updated at or after: epoch ms or ISO-8601'),
  to: z.string().max(40).optional().describe('updated before: epoch ms or ISO-8601'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional().describe('next_cursor of the previous page'),
});

export const executionPage = z
  .object({ executions: z.array(executionView), next_cursor: z.string().nullable() })
  .meta({
    id: 'ExecutionPage',
    example: {
      executions: [EXECUTION_EXAMPLE],
      next_cursor: 'WyIyMDI2LTEyLTAxIDE5OjAwOjAyLjQ4KzAwIiwiNmYxYyJd',
    },
  });

export const recordedEventView = z
  .object({
    id: z.string(),
    type: z.string(),
    revision: z.string().describe('position in the stream (a 64-bit integer as text)'),
    position: z.string().describe('position in the whole store'),
    recorded_at: instantOut,
    data: jsonObject,
    metadata: jsonObject,
  })
  .meta({ id: 'RecordedEvent', example: EVENT_EXAMPLE });

export const acceptedAnswer = z
  .object({ accepted: z.literal(true), id: z.string().describe('the id to follow it by') })
  .meta({ id: 'Accepted', example: { accepted: true, id: '3f0b8f5e-1c2d-5e6f-8a9b-0c1d2e3f4a5b' } });
