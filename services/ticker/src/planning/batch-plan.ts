import type { TriggerSource } from '@openpenpal/contracts';
import type { TaskBook } from '../definitions/task-book.ts';
import { initialLastNominal, timesBetween, type TaskSpec } from '../definitions/task-spec.ts';
import { runNowExecutionId } from '../firing/ids.ts';
import type { CommandOutcome } from '../metrics/observer.ts';
import type { Checkpoint, PauseState } from '../store/store.ts';
import {
  executionIdAt,
  type LeaderState,
  type LeaderTask,
  type MissRecord,
  type QueuedCommand,
} from './leader-state.ts';
import { planTask } from './task-plan.ts';

export interface FirePlan {
  taskId: string;
  spec: TaskSpec;
  nominal: number;
  executionId: string;
  source: Extract<TriggerSource, 'cron' | 'run_now'>;
  payload: string;
}

/** A task's state after the batch, applied to memory only once the batch is committed. */
interface TaskUpdate {
  /** Its run count grows by the fires actually sent. */
  checkpoint: Checkpoint;
  cursor: number;
  spec: TaskSpec | undefined;
  recheckAt?: number | undefined;
  /** The checkpoint must be written even if it looks unchanged (a task new to the store). */
  write: boolean;
  remove: boolean;
  /** Filled while the triggers are on their way: when to look at the task next. */
  nextAt?: number | undefined;
}

export interface Batch {
  now: number;
  fires: FirePlan[];
  misses: MissRecord[];
  updates: Map<string, TaskUpdate>;
  deletes: string[];
  /** A pause state to store first; the batch is planned with it. */
  pause: PauseState | undefined;
  resumed: boolean;
  outcomes: { queued: QueuedCommand; outcome: CommandOutcome }[];
}

/** At most this many times per task are recorded `disabled` when it stops with times pending. */
const DISABLED_MISS_LIMIT = 10_000;

function updateOf(batch: Batch, taskId: string, task: LeaderTask): TaskUpdate {
  let update = batch.updates.get(taskId);
  if (!update) {
    update = {
      checkpoint: { ...task.checkpoint },
      cursor: task.cursor,
      spec: task.spec,
      write: false,
      remove: false,
    };
    batch.updates.set(taskId, update);
  }
  return update;
}

/** Times the task had pending (planned but neither fired nor missed, i.e. while paused) become misses. */
function pendingBecomeMissed(batch: Batch, taskId: string, task: LeaderTask): void {
  const { spec, checkpoint, cursor } = task;
  if (!spec || cursor <= checkpoint.lastNominal) return;
  for (const nominal of timesBetween(
    spec,
    checkpoint.lastNominal,
    Math.min(cursor, batch.now),
    DISABLED_MISS_LIMIT,
  )) {
    batch.misses.push({ taskId, spec, nominal, reason: 'disabled' });
  }
}

/** A definition arrived (or the leader's term began): reconcile the leader's view of the task. */
function planChange(batch: Batch, book: TaskBook, state: LeaderState, taskId: string): void {
  const { now } = batch;
  const entry = book.get(taskId);
  const spec = book.firingSpec(taskId);
  const task = state.tasks.get(taskId);
  if (!entry) {
    if (!task) return;
    pendingBecomeMissed(batch, taskId, task);
    batch.deletes.push(taskId);
    batch.updates.set(taskId, { ...updateOf(batch, taskId, task), spec: undefined, remove: true });
    return;
  }
  if (!task) {
    // New to the ticker: its history starts now, not at the epoch.
    const checkpoint: Checkpoint = spec
      ? { lastNominal: initialLastNominal(spec, now), runCount: 0, off: false }
      : { lastNominal: now, runCount: 0, off: true };
    batch.updates.set(taskId, {
      checkpoint,
      cursor: checkpoint.lastNominal,
      spec,
      write: true,
      remove: false,
    });
    return;
  }
  const update = updateOf(batch, taskId, task);
  if (!spec) {
    if (!task.checkpoint.off) {
      pendingBecomeMissed(batch, taskId, task);
      const lastNominal = Math.max(task.checkpoint.lastNominal, Math.min(task.cursor, now));
      update.checkpoint = { ...update.checkpoint, lastNominal, off: true };
      update.cursor = lastNominal;
    }
    update.spec = undefined;
    return;
  }
  if (task.checkpoint.off) {
    // Back on: the times while it was off are not its times. It resumes from when it was
    // re-enabled (the definition's last change), so times since then follow the misfire policy.
    const from = Math.min(now, entry.def.updated_at);
    const lastNominal = Math.max(task.checkpoint.lastNominal, from);
    update.checkpoint = { ...update.checkpoint, lastNominal, off: false };
    update.cursor = Math.max(update.cursor, lastNominal);
  }
  update.spec = spec;
}

function planPauseCommand(batch: Batch, state: LeaderState, queued: QueuedCommand): void {
  const { command } = queued;
  const current = batch.pause ?? state.pause;
  const wantPaused = command.command === 'pause';
  if (current.paused === wantPaused) {
    batch.outcomes.push({ queued, outcome: 'duplicate' });
    return;
  }
  batch.pause = wantPaused
    ? { paused: true, since: batch.now, commandId: command.command_id, by: command.requested_by }
    : {
        paused: false,
        since: current.since,
        resumedAt: batch.now,
        commandId: command.command_id,
        by: command.requested_by,
      };
  batch.resumed = !wantPaused;
  batch.outcomes.push({ queued, outcome: 'applied' });
}

/**
 * run_now is an operator's explicit request: it fires even while paused, for an inactive task and
 * outside the task's dates, and counts as a run. A concurrency policy of `forbid` still applies.
 * The command was checked by the shared rules before it was queued (a JSON object override).
 */
function planRunNow(
  batch: Batch,
  book: TaskBook,
  state: LeaderState,
  queued: QueuedCommand,
  done: ReadonlySet<string>,
): void {
  const { command } = queued;
  const taskId = command.task_id ?? undefined;
  const entry = taskId === undefined ? undefined : book.get(taskId);
  const task = taskId === undefined ? undefined : state.tasks.get(taskId);
  const executionId = runNowExecutionId(command.command_id);
  if (done.has(executionId)) {
    batch.outcomes.push({ queued, outcome: 'duplicate' });
    return;
  }
  const override = command.payload_override ?? undefined;
  if (taskId === undefined || !entry || !task) {
    batch.outcomes.push({ queued, outcome: 'unknown_task' });
    return;
  }
  if (!entry.spec) {
    batch.outcomes.push({ queued, outcome: 'rejected' });
    return;
  }
  updateOf(batch, taskId, task);
  batch.fires.push({
    taskId,
    spec: entry.spec,
    nominal: command.requested_at,
    executionId,
    source: 'run_now',
    payload: override ?? entry.def.payload,
  });
  batch.outcomes.push({ queued, outcome: 'applied' });
}

/**
 * Plans one batch from what is pending: definition changes, commands and due tasks. Pure with
 * respect to the leader's state: nothing is changed until the batch has been committed.
 */
export function planBatch(input: {
  now: number;
  book: TaskBook;
  state: LeaderState;
  changed: ReadonlySet<string>;
  commands: readonly QueuedCommand[];
  due: ReadonlyMap<string, number>;
  doneRunNow: ReadonlySet<string>;
}): Batch {
  const { book, state } = input;
  const batch: Batch = {
    now: input.now,
    fires: [],
    misses: [],
    updates: new Map(),
    deletes: [],
    pause: undefined,
    resumed: false,
    outcomes: [],
  };
  for (const taskId of input.changed) planChange(batch, book, state, taskId);
  for (const queued of input.commands) {
    const kind = queued.command.command;
    if (kind === 'pause' || kind === 'resume') planPauseCommand(batch, state, queued);
    else if (kind !== 'run_now') batch.outcomes.push({ queued, outcome: 'ignored' });
  }
  const pause = batch.pause ?? state.pause;
  for (const [taskId, dueAt] of input.due) {
    // A task whose definition changed in this batch is rescheduled from its new state instead.
    if (input.changed.has(taskId)) continue;
    const task = state.tasks.get(taskId);
    const spec = task?.spec;
    if (!task || !spec) continue;
    const plan = planTask({
      spec,
      checkpoint: task.checkpoint,
      cursor: task.cursor,
      dueAt,
      now: batch.now,
      pause,
    });
    const update = updateOf(batch, taskId, task);
    update.checkpoint.lastNominal = plan.lastNominal;
    update.cursor = plan.cursor;
    update.recheckAt = plan.recheckAt;
    for (const nominal of plan.fires) {
      const executionId = executionIdAt(taskId, task, nominal);
      batch.fires.push({ taskId, spec, nominal, executionId, source: 'cron', payload: spec.def.payload });
    }
    for (const miss of plan.misses) batch.misses.push({ taskId, spec, ...miss });
  }
  for (const queued of input.commands) {
    if (queued.command.command === 'run_now') planRunNow(batch, book, state, queued, input.doneRunNow);
  }
  return batch;
}
