import { SchedulerError } from '@openpenpal/errors';
import type { RecordedTaskEvent } from './events.ts';
import type { TaskDefinitionFields } from './fields.ts';

/** The current definition of a task: the fold of its stream. */
export interface TaskState extends TaskDefinitionFields {
  task_id: string;
  is_active: boolean;
  created_by: string;
  created_at: number;
  updated_by: string;
  updated_at: number;
  /** True after TaskDeleted (until a TaskCreated re-creates the task). */
  deleted: boolean;
  deleted_at: number | null;
  /** Revision of the stream's last event: the expected revision of the next write. */
  revision: number;
  /** Revision of the last event that changed the definition (TaskRunRequested does not). */
  definition_revision: number;
  last_run_requested_at: number | null;
}

function broken(event: RecordedTaskEvent, problem: string): SchedulerError {
  return new SchedulerError('INTERNAL', `task stream of ${event.data.task_id} is broken: ${problem}`, {
    details: { task_id: event.data.task_id, revision: event.revision, type: event.type },
  });
}

/** Applies one event. Pure: the state is never mutated, the same events always give the same state. */
export function evolveTask(state: TaskState | undefined, event: RecordedTaskEvent): TaskState | undefined {
  if (event.type === 'TaskCreated') {
    const { data } = event;
    return {
      ...data.definition,
      task_id: data.task_id,
      is_active: data.is_active,
      created_by: data.by,
      created_at: data.at,
      updated_by: data.by,
      updated_at: data.at,
      deleted: false,
      deleted_at: null,
      revision: event.revision,
      definition_revision: event.revision,
      last_run_requested_at: null,
    };
  }
  if (state === undefined) throw broken(event, `${event.type} before TaskCreated`);
  const changed = (patch: Partial<TaskState>): TaskState => ({
    ...state,
    ...patch,
    updated_by: event.data.by,
    updated_at: event.data.at,
    revision: event.revision,
    definition_revision: event.revision,
  });
  switch (event.type) {
    case 'TaskUpdated':
      return changed(event.data.changes);
    case 'TaskEnabled':
      return changed({ is_active: true });
    case 'TaskDisabled':
      return changed({ is_active: false });
    case 'TaskDeleted':
      return changed({ deleted: true, deleted_at: event.data.at });
    case 'TaskRunRequested':
      return { ...state, revision: event.revision, last_run_requested_at: event.data.at };
  }
}

/** The state after all events of one stream, in stream order; undefined for an empty stream. */
export function foldTask(events: readonly RecordedTaskEvent[]): TaskState | undefined {
  return events.reduce<TaskState | undefined>(evolveTask, undefined);
}
