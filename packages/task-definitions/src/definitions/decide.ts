import { SchedulerError } from '@openpenpal/errors';
import type { Decider, JsonObject } from '@openpenpal/event-store';
import type { RecordedTaskEvent, TaskEvent } from './events.ts';
import { TASK_FIELD_NAMES, type TaskDefinitionFields } from './fields.ts';
import { evolveTask, type TaskState } from './fold.ts';
import { checkDefinition } from './validation.ts';

/*
 * Decisions: pure functions from the current state and a validated command to the events to append
 * (none when the command changes nothing). They throw NOT_FOUND for a task that does not exist or was
 * deleted, CONFLICT for a create over an existing task. `taskDecider` puts them together with the fold;
 * the store write (with the expected revision) is the event store's command handler's, in commands.ts.
 */

/** Which task a command is on, who asks and when. */
export interface DecisionContext {
  taskId: string;
  actor: string;
  now: number;
}

/** A command on one task, its input already validated (validation.ts). */
export type TaskDefinitionCommand =
  | {
      type: 'CreateTask';
      input: { fields: TaskDefinitionFields; isActive: boolean };
      context: DecisionContext;
    }
  | { type: 'UpdateTask'; patch: Partial<TaskDefinitionFields>; context: DecisionContext }
  | { type: 'EnableTask'; reason: string | null; context: DecisionContext }
  | { type: 'DisableTask'; reason: string | null; context: DecisionContext }
  | { type: 'DeleteTask'; reason: string | null; context: DecisionContext }
  | {
      type: 'RequestTaskRun';
      input: { reason: string | null; payloadOverride: JsonObject | null };
      context: DecisionContext;
    };

function notFound(taskId: string, state: TaskState | undefined): SchedulerError {
  return new SchedulerError(
    'NOT_FOUND',
    state?.deleted === true ? `task ${taskId} was deleted` : `no task ${taskId}`,
    { details: { task_id: taskId, deleted: state?.deleted === true } },
  );
}

function live(state: TaskState | undefined, taskId: string): TaskState {
  if (state === undefined || state.deleted) throw notFound(taskId, state);
  return state;
}

export function decideCreate(
  state: TaskState | undefined,
  input: { fields: TaskDefinitionFields; isActive: boolean },
  ctx: DecisionContext,
): TaskEvent[] {
  if (state !== undefined && !state.deleted) {
    throw new SchedulerError('CONFLICT', `task ${ctx.taskId} already exists`, {
      details: { task_id: ctx.taskId, revision: state.revision },
    });
  }
  return [
    {
      type: 'TaskCreated',
      data: {
        task_id: ctx.taskId,
        definition: input.fields,
        is_active: input.isActive,
        by: ctx.actor,
        at: ctx.now,
      },
    },
  ];
}

/** Key-order independent equality of JSON values (payloads). */
function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, canonical((value as JsonObject)[key])]),
      );
    }
    return value;
  };
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

export function decideUpdate(
  state: TaskState | undefined,
  patch: Partial<TaskDefinitionFields>,
  ctx: DecisionContext,
): TaskEvent[] {
  const current = live(state, ctx.taskId);
  const before: TaskDefinitionFields = Object.fromEntries(
    TASK_FIELD_NAMES.map((name) => [name, current[name]]),
  ) as unknown as TaskDefinitionFields;
  // Cross-field rules hold for the result, not the patch: a new zone with the old expression, an
  // end_date before the stored start_date.
  const after = checkDefinition({ ...before, ...patch });
  const changes = Object.fromEntries(
    TASK_FIELD_NAMES.filter((name) => !sameJson(before[name], after[name])).map((name) => [
      name,
      after[name],
    ]),
  ) as Partial<TaskDefinitionFields>;
  if (Object.keys(changes).length === 0) return [];
  return [{ type: 'TaskUpdated', data: { task_id: ctx.taskId, changes, by: ctx.actor, at: ctx.now } }];
}

export function decideEnable(
  state: TaskState | undefined,
  reason: string | null,
  ctx: DecisionContext,
): TaskEvent[] {
  if (live(state, ctx.taskId).is_active) return [];
  return [{ type: 'TaskEnabled', data: { task_id: ctx.taskId, by: ctx.actor, at: ctx.now, reason } }];
}

export function decideDisable(
  state: TaskState | undefined,
  reason: string | null,
  ctx: DecisionContext,
): TaskEvent[] {
  if (!live(state, ctx.taskId).is_active) return [];
  return [{ type: 'TaskDisabled', data: { task_id: ctx.taskId, by: ctx.actor, at: ctx.now, reason } }];
}

export function decideDelete(
  state: TaskState | undefined,
  reason: string | null,
  ctx: DecisionContext,
): TaskEvent[] {
  live(state, ctx.taskId);
  return [{ type: 'TaskDeleted', data: { task_id: ctx.taskId, by: ctx.actor, at: ctx.now, reason } }];
}

/** Run-now works for an inactive task too: the operator asks for it explicitly (the ticker agrees). */
export function decideRunRequest(
  state: TaskState | undefined,
  input: { reason: string | null; payloadOverride: JsonObject | null },
  ctx: DecisionContext,
): TaskEvent[] {
  live(state, ctx.taskId);
  return [
    {
      type: 'TaskRunRequested',
      data: {
        task_id: ctx.taskId,
        by: ctx.actor,
        at: ctx.now,
        reason: input.reason,
        payload_override: input.payloadOverride,
      },
    },
  ];
}

/** Task definitions as a decider: no state for a stream without events, the fold, the decisions above. */
export const taskDecider: Decider<
  TaskState | undefined,
  TaskDefinitionCommand,
  TaskEvent,
  RecordedTaskEvent
> = {
  initialState: () => undefined,
  evolve: evolveTask,
  decide: (command, state) => {
    switch (command.type) {
      case 'CreateTask':
        return decideCreate(state, command.input, command.context);
      case 'UpdateTask':
        return decideUpdate(state, command.patch, command.context);
      case 'EnableTask':
        return decideEnable(state, command.reason, command.context);
      case 'DisableTask':
        return decideDisable(state, command.reason, command.context);
      case 'DeleteTask':
        return decideDelete(state, command.reason, command.context);
      case 'RequestTaskRun':
        return decideRunRequest(state, command.input, command.context);
    }
  },
};
