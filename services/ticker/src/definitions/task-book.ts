import type { TaskDefinition } from '@openpenpal/contracts';
import { toError } from '@openpenpal/errors';
import type { Logger } from 'pino';
import { compileDefinition, type TaskSpec } from './task-spec.ts';

/** What the ticker knows about one task id. */
interface BookEntry {
  /** The last definition received (valid or not); its revision orders updates. */
  def: TaskDefinition;
  /** The compiled definition; undefined when the definition is invalid (it never fires). */
  spec: TaskSpec | undefined;
}

export interface TaskBook {
  /** Applies a definition (null = deleted); returns false when it was ignored as stale. */
  apply(taskId: string, def: TaskDefinition | null): boolean;
  get(taskId: string): BookEntry | undefined;
  ids(): IterableIterator<string>;
  /** The spec of a task that should fire on its schedule now (valid and active). */
  firingSpec(taskId: string): TaskSpec | undefined;
  counts(): { active: number; inactive: number; invalid: number };
}

/**
 * The table of task definitions, keyed by task id: one entry per task however many updates
 * arrive, so a re-enabled task is the same entry again and cannot fire twice. An invalid
 * definition replaces the entry too (the task stops firing rather than run a definition its
 * operator has replaced) and is logged and counted.
 */
export function createTaskBook(options: {
  topicPrefix: string;
  logger: Logger;
  onInvalid?: (taskId: string, error: Error) => void;
}): TaskBook {
  const entries = new Map<string, BookEntry>();
  const logger = options.logger.child({ component: 'task-book' });
  return {
    apply: (taskId, def) => {
      const held = entries.get(taskId);
      if (def === null) {
        entries.delete(taskId);
        return held !== undefined;
      }
      if (held && def.revision <= held.def.revision) {
        logger.debug({ taskId, revision: def.revision, held: held.def.revision }, 'stale definition ignored');
        return false;
      }
      let spec: TaskSpec | undefined;
      try {
        if (def.task_id !== taskId)
          throw new Error(`message key ${taskId} differs from task_id ${def.task_id}`);
        spec = compileDefinition(def, options.topicPrefix);
      } catch (error) {
        const err = toError(error);
        logger.error(
          { err, taskId, revision: def.revision },
          'invalid task definition skipped; the task does not fire',
        );
        options.onInvalid?.(taskId, err);
      }
      entries.set(taskId, { def, spec });
      return true;
    },
    get: (taskId) => entries.get(taskId),
    ids: () => entries.keys(),
    firingSpec: (taskId) => {
      const spec = entries.get(taskId)?.spec;
      return spec?.def.is_active ? spec : undefined;
    },
    counts: () => {
      let active = 0;
      let inactive = 0;
      let invalid = 0;
      for (const entry of entries.values()) {
        if (!entry.spec) invalid += 1;
        else if (entry.spec.def.is_active) active += 1;
        else inactive += 1;
      }
      return { active, inactive, invalid };
    },
  };
}
