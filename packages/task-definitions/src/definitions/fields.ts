import {
  TASK_TYPES,
  type ConcurrencyPolicy,
  type MisfirePolicy,
  type TaskPriority,
} from '@openpenpal/contracts';
import {
  DEFAULT_FIRE_ALL_CAP,
  DEFAULT_MISFIRE_GRACE_MS,
  DEFAULT_MISFIRE_POLICY,
  DEFAULT_TIMEZONE,
  MISFIRE_POLICIES,
} from '@openpenpal/cron';
import type { JsonObject } from '@openpenpal/event-store';

/** Task types that have a handler and a trigger topic (every TaskType but `unknown`). */
export type RunnableTaskType = (typeof TASK_TYPES)[number];
export const RUNNABLE_TASK_TYPES: readonly RunnableTaskType[] = TASK_TYPES;

export const TASK_PRIORITIES = [
  'low',
  'normal',
  'high',
  'critical',
] as const satisfies readonly TaskPriority[];
export const CONCURRENCY_POLICIES = ['allow', 'forbid'] as const satisfies readonly ConcurrencyPolicy[];
export const TASK_MISFIRE_POLICIES: readonly MisfirePolicy[] = MISFIRE_POLICIES;

/**
 * What an operator defines about a task (the admin API's task fields that are not run state). Times are
 * epoch milliseconds; `payload` is a JSON object (the Avro value carries it as JSON text).
 */
export interface TaskDefinitionFields {
  name: string;
  description: string | null;
  task_type: RunnableTaskType;
  priority: TaskPriority;
  cron_expression: string | null;
  timezone: string;
  scheduled_at: number | null;
  payload: JsonObject;
  max_retries: number;
  timeout_secs: number;
  start_date: number | null;
  end_date: number | null;
  max_runs: number | null;
  misfire_policy: MisfirePolicy;
  misfire_grace_ms: number;
  misfire_fire_all_cap: number;
  concurrency_policy: ConcurrencyPolicy;
}

export type TaskFieldName = keyof TaskDefinitionFields;

export const TASK_FIELD_NAMES = [
  'name',
  'description',
  'task_type',
  'priority',
  'cron_expression',
  'timezone',
  'scheduled_at',
  'payload',
  'max_retries',
  'timeout_secs',
  'start_date',
  'end_date',
  'max_runs',
  'misfire_policy',
  'misfire_grace_ms',
  'misfire_fire_all_cap',
  'concurrency_policy',
] as const satisfies readonly TaskFieldName[];

/**
 * Values a create request may leave out. The domain's (openpenpal-domain.md §1, §6) and the Avro
 * defaults where they exist; `timeout_secs` has none there: 300 s is the shortest default task timeout.
 * `concurrency_policy` defaults to forbid, as the Avro enum does: overlapping sweeps do double work.
 */
export const FIELD_DEFAULTS = {
  description: null,
  priority: 'normal',
  cron_expression: null,
  timezone: DEFAULT_TIMEZONE,
  scheduled_at: null,
  payload: {},
  max_retries: 3,
  timeout_secs: 300,
  start_date: null,
  end_date: null,
  max_runs: null,
  misfire_policy: DEFAULT_MISFIRE_POLICY,
  misfire_grace_ms: DEFAULT_MISFIRE_GRACE_MS,
  misfire_fire_all_cap: DEFAULT_FIRE_ALL_CAP,
  concurrency_policy: 'forbid',
} as const satisfies Omit<TaskDefinitionFields, 'name' | 'task_type'>;

/** Limits of the values (Avro `int` fields must stay below 2^31). */
export const LIMITS = {
  nameLength: 200,
  descriptionLength: 2_000,
  maxRetries: 100,
  timeoutSecs: 86_400,
  maxRuns: 2_147_483_647,
  misfireGraceMs: 7 * 24 * 60 * 60 * 1000,
  fireAllCap: 10_000,
  /** Bytes of the payload as JSON text: it travels in every trigger. */
  payloadBytes: 64 * 1024,
  taskIdLength: 128,
} as const;

/** Task ids are readable ids or UUIDs: they appear in stream ids, Kafka keys and URLs. */
export const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
