import type { TaskDefinition } from '@openpenpal/contracts';
import { SchedulerError, isSchedulerError, toError } from '@openpenpal/errors';
import type { TableRecord } from '@openpenpal/messaging';
import type { Logger } from 'pino';
import { compileDefinition, type TaskSpec } from './task-spec.ts';

/** Where a definition was read: the table record, kept for a dead letter while it is invalid. */
export type DefinitionOrigin = Pick<
  TableRecord<TaskDefinition>,
  'topic' | 'partition' | 'offset' | 'message'
>;

/** What the ticker knows about one task id. */
interface BookEntry {
  /** The last definition received (valid or not); its revision orders updates. */
  def: TaskDefinition;
  /** The compiled definition; undefined when the definition is invalid (it never fires). */
  spec: TaskSpec | undefined;
  /** Why it is invalid (VALIDATION_FAILED naming the fields), and the record it came from. */
  invalid?: { error: SchedulerError; origin: DefinitionOrigin | undefined } | undefined;
}

export interface TaskBook {
  /** Applies a definition (null = deleted); returns false when it was ignored as stale. */
  apply(taskId: string, def: TaskDefinition | null, origin?: DefinitionOrigin): boolean;
  get(taskId: string): BookEntry | undefined;
  ids(): IterableIterator<string>;
  /** The tasks whose current definition is invalid. */
  invalid(): IterableIterator<[string, BookEntry]>;
  /** The spec of a task that should fire on its schedule now (valid and active). */
  firingSpec(taskId: string): TaskSpec | undefined;
  counts(): { active: number; inactive: number; invalid: number };
}

function asValidationError(taskId: string, error: unknown): SchedulerError {
  if (isSchedulerError(error) && error.code === 'VALIDATION_FAILED') return error;
  return new SchedulerError(
    'VALIDATION_FAILED',
    `task ${JSON.stringify(taskId)}: ${toError(error).message}`,
    {
      details: { task_id: taskId },
      cause: error,
    },
  );
}

/**
 * The table of task definitions, keyed by task id: one entry per task however many updates
 * arrive, so a re-enabled task is the same entry again and cannot fire twice. An invalid
 * definition replaces the entry too (the task stops firing rather than run a definition its
 * operator has replaced) and is logged and counted; the leader dead-letters it once.
 */
export function createTaskBook(options: {
  topicPrefix: string;
  logger: Logger;
  onInvalid?: (taskId: string, error: SchedulerError) => void;
}): TaskBook {
  const entries = new Map<string, BookEntry>();
  const invalid = new Map<string, BookEntry>();
  const logger = options.logger.child({ component: 'task-book' });
  return {
    apply: (taskId, def, origin) => {
      const held = entries.get(taskId);
      if (def === null) {
        entries.delete(taskId);
        invalid.delete(taskId);
        return held !== undefined;
      }
      if (held && def.revision <= held.def.revision) {
        logger.debug({ taskId, revision: def.revision, held: held.def.revision }, 'stale definition ignored');
        return false;
      }
      let entry: BookEntry;
      try {
        if (def.task_id !== taskId) {
          throw new SchedulerError(
            'VALIDATION_FAILED',
            `task_id ${def.task_id} differs from the message key`,
            {
              details: { field: 'task_id', problem: `differs from the message key ${taskId}` },
            },
          );
        }
        entry = { def, spec: compileDefinition(def, options.topicPrefix) };
        invalid.delete(taskId);
      } catch (error) {
        const err = asValidationError(taskId, error);
        entry = { def, spec: undefined, invalid: { error: err, origin } };
        invalid.set(taskId, entry);
        logger.error(
          { err, taskId, revision: def.revision, field: err.details.field },
          'invalid task definition; the task does not fire',
        );
        options.onInvalid?.(taskId, err);
      }
      entries.set(taskId, entry);
      return true;
    },
    get: (taskId) => entries.get(taskId),
    ids: () => entries.keys(),
    invalid: () => invalid.entries(),
    firingSpec: (taskId) => {
      const spec = entries.get(taskId)?.spec;
      return spec?.def.is_active ? spec : undefined;
    },
    counts: () => {
      let active = 0;
      let inactive = 0;
      for (const entry of entries.values()) {
        if (!entry.spec) continue;
        if (entry.spec.def.is_active) active += 1;
        else inactive += 1;
      }
      return { active, inactive, invalid: invalid.size };
    },
  };
}
