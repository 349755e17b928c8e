import { SchedulerError, isSchedulerError } from '@openpenpal/errors';
import { createCommandHandler, type CurrentRevision, type EventStore } from '@openpenpal/event-store';
import type { Clock } from '@openpenpal/timing';
import { commandEventId, randomId } from '../ids.ts';
import { taskDecider, type DecisionContext, type TaskDefinitionCommand } from './decide.ts';
import { parseTaskEvent, parseTaskEvents, taskStreamId, type RecordedTaskEvent } from './events.ts';
import { foldTask, type TaskState } from './fold.ts';
import {
  assertActor,
  assertTaskId,
  checkPayloadOverride,
  checkReason,
  parseCreateInput,
  parseUpdateInput,
  validationFailed,
} from './validation.ts';

/** What every command takes besides its own input. */
export interface CommandOptions {
  /** Who asks: an admin's user id or a service name; recorded on the event. */
  actor: string;
  /**
   * The revision the caller last saw (for example from an ETag; -1 for no task): a write over a newer
   * revision is a CONFLICT instead of silently overwriting a change the caller has not seen.
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

/** The caller's revision as the store counts: -1 is no task yet. */
function toExpectedRevision(revision: number | undefined): CurrentRevision | undefined {
  if (revision === undefined) return undefined;
  if (!Number.isSafeInteger(revision) || revision < -1) {
    throw validationFailed([
      {
        field: 'expected_revision',
        problem: 'a revision the caller saw: an integer >= 0, or -1 for no task',
      },
    ]);
  }
  return revision === -1 ? 'no_stream' : BigInt(revision);
}

/** A revision of the store's CONFLICT details ('3', 'no_stream') as the task API counts it: 3, null. */
function taskRevision(revision: unknown): unknown {
  if (revision === 'no_stream') return null;
  return typeof revision === 'string' && /^\d+$/.test(revision) ? Number(revision) : revision;
}

/**
 * The commands of the admin API on event-sourced task definitions. Each one validates its input, then
 * runs on the event store's command handler: read stream `task-<id>`, fold it, decide (`taskDecider`),
 * append with the revision it read as the expected revision, so a concurrent write in between is a
 * CONFLICT rather than a lost update.
 */
export function createTaskDefinitions(deps: {
  store: EventStore;
  clock: Pick<Clock, 'now'>;
}): TaskDefinitions {
  const { store, clock } = deps;
  const handle = createCommandHandler({
    store,
    decider: taskDecider,
    fromStored: parseTaskEvent,
    eventId: commandEventId,
    randomEventId: randomId,
  });

  const read = async (taskId: string): Promise<RecordedTaskEvent[]> =>
    parseTaskEvents(await store.readStream(taskStreamId(taskId)));

  const run = async (
    taskId: string,
    options: CommandOptions,
    command: (context: DecisionContext) => TaskDefinitionCommand,
  ): Promise<CommandResult> => {
    assertActor(options.actor);
    const expectedRevision = toExpectedRevision(options.expectedRevision);
    const stream = taskStreamId(taskId);
    let result;
    try {
      result = await handle(stream, command({ taskId, actor: options.actor, now: clock.now() }), {
        ...(options.commandId === undefined ? {} : { commandId: options.commandId }),
        ...(expectedRevision === undefined ? {} : { expectedRevision }),
      });
    } catch (error) {
      // A CONFLICT naming the stream is about its revision (a stale expectedRevision or a concurrent
      // write); a decision's own CONFLICT (a create over a live task) passes as it is.
      if (isSchedulerError(error) && error.code === 'CONFLICT' && error.details.stream === stream) {
        throw new SchedulerError(
          'CONFLICT',
          `task ${taskId} was changed by another write; read it again and retry`,
          {
            cause: error,
            details: {
              task_id: taskId,
              ...error.details,
              expected: taskRevision(error.details.expected),
              actual: taskRevision(error.details.actual),
            },
          },
        );
      }
      throw error;
    }
    const task = result.state;
    if (task === undefined) throw new SchedulerError('INTERNAL', 'a command left no task state');
    return {
      task,
      revision: result.revision === 'no_stream' ? task.revision : Number(result.revision),
      changed: result.appended.length > 0,
      eventIds: result.appended.map((event) => event.id),
    };
  };

  return {
    createTask: async (input, options) => {
      const parsed = parseCreateInput(input);
      const taskId = parsed.taskId ?? randomId();
      return run(taskId, options, (context) => ({
        type: 'CreateTask',
        input: { fields: parsed.fields, isActive: parsed.isActive },
        context,
      }));
    },
    updateTask: async (taskId, patch, options) => {
      assertTaskId(taskId);
      const parsed = parseUpdateInput(patch);
      return run(taskId, options, (context) => ({ type: 'UpdateTask', patch: parsed, context }));
    },
    enableTask: async (taskId, options) => {
      assertTaskId(taskId);
      const reason = checkReason(options.reason);
      return run(taskId, options, (context) => ({ type: 'EnableTask', reason, context }));
    },
    disableTask: async (taskId, options) => {
      assertTaskId(taskId);
      const reason = checkReason(options.reason);
      return run(taskId, options, (context) => ({ type: 'DisableTask', reason, context }));
    },
    deleteTask: async (taskId, options) => {
      assertTaskId(taskId);
      const reason = checkReason(options.reason);
      return run(taskId, options, (context) => ({ type: 'DeleteTask', reason, context }));
    },
    requestRun: async (taskId, options) => {
      assertTaskId(taskId);
      const reason = checkReason(options.reason);
      const payloadOverride = checkPayloadOverride(options.payloadOverride);
      return run(taskId, options, (context) => ({
        type: 'RequestTaskRun',
        input: { reason, payloadOverride },
        context,
      }));
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
