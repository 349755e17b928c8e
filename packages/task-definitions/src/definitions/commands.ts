import { SchedulerError, isSchedulerError } from '@openpenpal/errors';
import type { EventData, EventStore } from '@openpenpal/event-store';
import { commandEventId, randomId } from '../ids.ts';
import {
  decideCreate,
  decideDelete,
  decideDisable,
  decideEnable,
  decideRunRequest,
  decideUpdate,
  type DecisionContext,
} from './decide.ts';
import { parseTaskEvents, taskStreamId, type RecordedTaskEvent, type TaskEvent } from './events.ts';
import { evolveTask, foldTask, type TaskState } from './fold.ts';
import {
  assertActor,
  assertTaskId,
  checkPayloadOverride,
  checkReason,
  parseCreateInput,
  parseUpdateInput,
} from './validation.ts';

export interface Clock {
  now(): number;
}

/** What every command takes besides its own input. */
export interface CommandOptions {
  /** Who asks: an admin's user id or a service name; recorded on the event. */
  actor: string;
  /**
   * The revision the caller last saw (for example from an ETag): a write over a newer revision is a
   * CONFLICT instead of silently overwriting a change the caller has not seen.
   */
  expectedRevision?: number;
  /**
   * The caller's id for this command (for example an idempotency key header). The events' ids derive
   * from it, so a retried command is recorded once and answers as the first try did.
   */
  commandId?: string;
}

export interface ReasonOptions extends CommandOptions {
  reason?: string | null;
}

export interface CommandResult {
  task: TaskState;
  /** The stream revision after the command (the revision of its last event). */
  revision: number;
  /** False when the command changed nothing (enabling an active task, an update to the same values). */
  changed: boolean;
  /** Ids of the events the command appended (or had appended, for a retried command). */
  eventIds: string[];
}

export interface TaskDefinitions {
  createTask(input: unknown, options: CommandOptions): Promise<CommandResult>;
  updateTask(taskId: string, patch: unknown, options: CommandOptions): Promise<CommandResult>;
  enableTask(taskId: string, options: ReasonOptions): Promise<CommandResult>;
  disableTask(taskId: string, options: ReasonOptions): Promise<CommandResult>;
  deleteTask(taskId: string, options: ReasonOptions): Promise<CommandResult>;
  /** Records a run request; `eventIds[0]` is the run_now command id the relay sends to the ticker. */
  requestRun(taskId: string, options: ReasonOptions & { payloadOverride?: unknown }): Promise<CommandResult>;
  /** The current definition; undefined for an unknown task, and for a deleted one unless asked for. */
  getTask(taskId: string, options?: { includeDeleted?: boolean }): Promise<TaskState | undefined>;
  /** The task's events, oldest first (its history). */
  readTaskEvents(taskId: string): Promise<RecordedTaskEvent[]>;
}

type Decide = (state: TaskState | undefined, ctx: DecisionContext) => TaskEvent[];

/**
 * The commands of the admin API on event-sourced task definitions. Each one validates its input, reads
 * stream `task-<id>`, folds it, decides, and appends with the revision it read as the expected
 * revision, so a concurrent write in between is a CONFLICT rather than a lost update.
 */
export function createTaskDefinitions(deps: { store: EventStore; clock: Clock }): TaskDefinitions {
  const { store, clock } = deps;

  const read = async (taskId: string): Promise<RecordedTaskEvent[]> =>
    parseTaskEvents(await store.readStream(taskStreamId(taskId)));

  const run = async (taskId: string, options: CommandOptions, decide: Decide): Promise<CommandResult> => {
    assertActor(options.actor);
    const events = await read(taskId);
    const state = foldTask(events);
    if (options.commandId !== undefined) {
      const firstId = commandEventId(options.commandId, 0);
      const done = events.findIndex((event) => event.id === firstId);
      if (done !== -1 && state !== undefined) {
        const ids = events
          .slice(done)
          .filter((event, index) => event.id === commandEventId(options.commandId ?? '', index));
        return {
          task: state,
          revision: ids.at(-1)?.revision ?? state.revision,
          changed: true,
          eventIds: ids.map((e) => e.id),
        };
      }
    }
    if (options.expectedRevision !== undefined && options.expectedRevision !== (state?.revision ?? -1)) {
      throw new SchedulerError(
        'CONFLICT',
        `task ${taskId} changed since revision ${options.expectedRevision}`,
        {
          details: { task_id: taskId, expected: options.expectedRevision, actual: state?.revision ?? null },
        },
      );
    }
    const decided = decide(state, { taskId, actor: options.actor, now: clock.now() });
    if (decided.length === 0) {
      if (state === undefined) throw new SchedulerError('INTERNAL', 'a decision on no task appended nothing');
      return { task: state, revision: state.revision, changed: false, eventIds: [] };
    }
    const toAppend: EventData[] = decided.map((event, index) => ({
      id: options.commandId === undefined ? randomId() : commandEventId(options.commandId, index),
      type: event.type,
      data: event.data,
    }));
    let result;
    try {
      result = await store.append(taskStreamId(taskId), toAppend, {
        expectedRevision: state === undefined ? 'no_stream' : BigInt(state.revision),
      });
    } catch (error) {
      if (isSchedulerError(error) && error.code === 'CONFLICT') {
        throw new SchedulerError(
          'CONFLICT',
          `task ${taskId} was changed concurrently; read it again and retry`,
          {
            cause: error,
            details: { task_id: taskId, ...error.details },
          },
        );
      }
      throw error;
    }
    const first = Number(result.nextExpectedRevision) - decided.length + 1;
    const task = decided.reduce<TaskState | undefined>(
      (current, event, index) =>
        evolveTask(current, {
          ...event,
          id: toAppend[index]?.id ?? '',
          revision: first + index,
          position: result.position,
          recordedAt: new Date(clock.now()),
        }),
      state,
    );
    if (task === undefined) throw new SchedulerError('INTERNAL', 'a command left no task state');
    return { task, revision: task.revision, changed: true, eventIds: toAppend.map((event) => event.id) };
  };

  return {
    createTask: async (input, options) => {
      const parsed = parseCreateInput(input);
      const taskId = parsed.taskId ?? randomId();
      return run(taskId, options, (state, ctx) => decideCreate(state, parsed, ctx));
    },
    updateTask: async (taskId, patch, options) => {
      assertTaskId(taskId);
      const parsed = parseUpdateInput(patch);
      return run(taskId, options, (state, ctx) => decideUpdate(state, parsed, ctx));
    },
    enableTask: async (taskId, options) => {
      assertTaskId(taskId);
      const reason = checkReason(options.reason);
      return run(taskId, options, (state, ctx) => decideEnable(state, reason, ctx));
    },
    disableTask: async (taskId, options) => {
      assertTaskId(taskId);
      const reason = checkReason(options.reason);
      return run(taskId, options, (state, ctx) => decideDisable(state, reason, ctx));
    },
    deleteTask: async (taskId, options) => {
      assertTaskId(taskId);
      const reason = checkReason(options.reason);
      return run(taskId, options, (state, ctx) => decideDelete(state, reason, ctx));
    },
    requestRun: async (taskId, options) => {
      assertTaskId(taskId);
      const reason = checkReason(options.reason);
      const payloadOverride = checkPayloadOverride(options.payloadOverride);
      return run(taskId, options, (state, ctx) => decideRunRequest(state, { reason, payloadOverride }, ctx));
    },
    getTask: async (taskId, options = {}) => {
      assertTaskId(taskId);
      const state = foldTask(await read(taskId));
      return state?.deleted === true && options.includeDeleted !== true ? undefined : state;
    },
    readTaskEvents: async (taskId) => {
      assertTaskId(taskId);
      return read(taskId);
    },
  };
}
