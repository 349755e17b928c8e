import { SchedulerError } from '@openpenpal/errors';
import type { JsonObject, RecordedEvent } from '@openpenpal/event-store';
import { z } from 'zod';
import {
  CONCURRENCY_POLICIES,
  RUNNABLE_TASK_TYPES,
  TASK_MISFIRE_POLICIES,
  TASK_PRIORITIES,
  type TaskDefinitionFields,
} from './fields.ts';

/*
 * The events of stream `task-<task_id>`, as JSON data in the event store. Every event names its task, who
 * caused it (`by`: an admin's user id or a service name) and when (`at`, epoch ms, the writer's clock).
 */

/** A task was defined: the whole definition. Also a re-creation after TaskDeleted. */
export interface TaskCreated {
  type: 'TaskCreated';
  data: { task_id: string; definition: TaskDefinitionFields; is_active: boolean; by: string; at: number };
}

/** Some definition fields changed: only those, with their new values. */
export interface TaskUpdated {
  type: 'TaskUpdated';
  data: { task_id: string; changes: Partial<TaskDefinitionFields>; by: string; at: number };
}

/** The task fires again on its schedule. */
export interface TaskEnabled {
  type: 'TaskEnabled';
  data: { task_id: string; by: string; at: number; reason: string | null };
}

/** The task stops firing on its schedule (run-now still works). */
export interface TaskDisabled {
  type: 'TaskDisabled';
  data: { task_id: string; by: string; at: number; reason: string | null };
}

/** The task is gone: its definition becomes a tombstone on the task-definitions topic. */
export interface TaskDeleted {
  type: 'TaskDeleted';
  data: { task_id: string; by: string; at: number; reason: string | null };
}

/**
 * An operator asked to run the task now. The relay turns it into a `run_now` TaskCommand whose
 * `command_id` is this event's id, so the ticker derives the same execution id however often it arrives.
 */
export interface TaskRunRequested {
  type: 'TaskRunRequested';
  data: {
    task_id: string;
    by: string;
    at: number;
    reason: string | null;
    payload_override: JsonObject | null;
  };
}

export type TaskEvent =
  TaskCreated | TaskUpdated | TaskEnabled | TaskDisabled | TaskDeleted | TaskRunRequested;
export type TaskEventType = TaskEvent['type'];

export const TASK_EVENT_TYPES = [
  'TaskCreated',
  'TaskUpdated',
  'TaskEnabled',
  'TaskDisabled',
  'TaskDeleted',
  'TaskRunRequested',
] as const satisfies readonly TaskEventType[];

/** A task event read back from the store, with its place in the stream. */
export type RecordedTaskEvent = TaskEvent & {
  id: string;
  revision: number;
  position: bigint;
  recordedAt: Date;
};

export const TASK_CATEGORY = 'task';

/** `task-<task_id>`: the category is `task` whatever the id holds, since it ends at the first `-`. */
export function taskStreamId(taskId: string): string {
  return `${TASK_CATEGORY}-${taskId}`;
}

const jsonObject = z.custom<JsonObject>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
);

const storedFields = z.object({
  name: z.string(),
  description: z.string().nullable(),
  task_type: z.enum(RUNNABLE_TASK_TYPES as [string, ...string[]]),
  priority: z.enum(TASK_PRIORITIES),
  cron_expression: z.string().nullable(),
  timezone: z.string(),
  scheduled_at: z.number().nullable(),
  payload: jsonObject,
  max_retries: z.number(),
  timeout_secs: z.number(),
  start_date: z.number().nullable(),
  end_date: z.number().nullable(),
  max_runs: z.number().nullable(),
  misfire_policy: z.enum(TASK_MISFIRE_POLICIES as [string, ...string[]]),
  misfire_grace_ms: z.number(),
  misfire_fire_all_cap: z.number(),
  concurrency_policy: z.enum(CONCURRENCY_POLICIES),
});

const common = { task_id: z.string(), by: z.string(), at: z.number() };
const withReason = z.object({ ...common, reason: z.string().nullable().default(null) });

// Parsing guards the fold against data another version wrote: unknown fields are dropped.
const DATA_SCHEMAS: Readonly<Record<TaskEventType, z.ZodType>> = {
  TaskCreated: z.object({ ...common, definition: storedFields, is_active: z.boolean() }),
  TaskUpdated: z.object({ ...common, changes: storedFields.partial() }),
  TaskEnabled: withReason,
  TaskDisabled: withReason,
  TaskDeleted: withReason,
  TaskRunRequested: z.object({
    ...common,
    reason: z.string().nullable().default(null),
    payload_override: jsonObject.nullable().default(null),
  }),
};

function isTaskEventType(type: string): type is TaskEventType {
  return Object.hasOwn(DATA_SCHEMAS, type);
}

/**
 * The typed event of a recorded one, or undefined for a type this version does not know (a later
 * version's event: folds leave it out). Malformed data of a known type is a broken stream: INTERNAL.
 */
export function parseTaskEvent(recorded: RecordedEvent): RecordedTaskEvent | undefined {
  if (!isTaskEventType(recorded.type)) return undefined;
  const parsed = DATA_SCHEMAS[recorded.type].safeParse(recorded.data);
  if (!parsed.success) {
    throw new SchedulerError(
      'INTERNAL',
      `event ${recorded.id} of ${recorded.streamId} is not a valid ${recorded.type}`,
      {
        details: {
          stream: recorded.streamId,
          revision: recorded.revision.toString(),
          issues: parsed.error.issues,
        },
      },
    );
  }
  return {
    type: recorded.type,
    data: parsed.data,
    id: recorded.id,
    revision: Number(recorded.revision),
    position: recorded.position,
    recordedAt: recorded.createdAt,
  } as RecordedTaskEvent;
}

export function parseTaskEvents(recorded: readonly RecordedEvent[]): RecordedTaskEvent[] {
  return recorded.map(parseTaskEvent).filter((event) => event !== undefined);
}
