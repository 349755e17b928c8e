import type { MissReason, TaskCommand } from '@openpenpal/contracts';
import type { TaskSpec } from '../definitions/task-spec.ts';
import { cronExecutionId } from '../firing/ids.ts';
import type { Leadership } from '../lease/lease.ts';
import type { CommandOutcome } from '../metrics/observer.ts';
import type { Checkpoint, PauseState } from '../store/store.ts';
import { createFireHeap, type FireHeap } from './fire-heap.ts';

/** What the leader holds about one task beyond its definition. */
export interface LeaderTask {
  checkpoint: Checkpoint;
  /** The spec the task is scheduled with; undefined while it does not fire. */
  spec: TaskSpec | undefined;
  /** Nominal times up to here have been planned (ahead of the checkpoint only while paused). */
  cursor: number;
  next: number | undefined;
  /** The execution id of `next`, worked out ahead of time so firing does no hashing. */
  nextExecutionId: string | undefined;
  version: number;
}

/** A command waiting for the loop; settled once its batch is committed. */
export interface QueuedCommand {
  command: TaskCommand;
  resolve(outcome: CommandOutcome): void;
  reject(error: unknown): void;
}

/** The leader's working state for one term. */
export interface LeaderState {
  term: Leadership;
  tasks: Map<string, LeaderTask>;
  heap: FireHeap;
  pause: PauseState;
}

/** A term's state from the stored checkpoints; the tasks get their specs as definitions are planned. */
export function createLeaderState(
  term: Leadership,
  pause: PauseState,
  checkpoints: ReadonlyMap<string, Checkpoint> = new Map(),
): LeaderState {
  const tasks = new Map<string, LeaderTask>();
  for (const [taskId, checkpoint] of checkpoints) {
    tasks.set(taskId, {
      checkpoint,
      spec: undefined,
      cursor: checkpoint.lastNominal,
      next: undefined,
      nextExecutionId: undefined,
      version: 0,
    });
  }
  return { term, tasks, heap: createFireHeap(), pause };
}

/** Puts the task's next look at `at` (or takes it off the schedule) and forgets its older entries. */
export function scheduleTask(
  state: LeaderState,
  taskId: string,
  task: LeaderTask,
  at: number | undefined,
): void {
  task.version += 1;
  task.next = at;
  task.nextExecutionId = undefined;
  if (at === undefined) return;
  state.heap.push({ at, taskId, version: task.version });
}

/** The execution id for a nominal time, using the one worked out ahead when it matches. */
export function executionIdAt(taskId: string, task: LeaderTask | undefined, nominal: number): string {
  if (task?.next === nominal && task.nextExecutionId !== undefined) return task.nextExecutionId;
  return cronExecutionId(taskId, nominal);
}

/** Works out the execution ids of upcoming fires, off the hot path (after a batch was sent). */
export function precomputeExecutionIds(taskIds: Iterable<string>, state: LeaderState): void {
  for (const taskId of taskIds) {
    const task = state.tasks.get(taskId);
    if (task?.next !== undefined && task.nextExecutionId === undefined) {
      task.nextExecutionId = cronExecutionId(taskId, task.next);
    }
  }
}

/** Takes every current entry due at or before `now` off the heap: task id → the due time. */
export function popDue(state: LeaderState, now: number): Map<string, number> {
  const due = new Map<string, number>();
  for (let top = state.heap.peek(); top !== undefined && top.at <= now; top = state.heap.peek()) {
    state.heap.pop();
    const task = state.tasks.get(top.taskId);
    if (task?.version === top.version && !due.has(top.taskId)) due.set(top.taskId, top.at);
  }
  return due;
}

/** The earliest current entry's time, dropping stale entries on the way. */
export function nextWake(state: LeaderState): number | undefined {
  for (let top = state.heap.peek(); top !== undefined; top = state.heap.peek()) {
    if (state.tasks.get(top.taskId)?.version === top.version) return top.at;
    state.heap.pop();
  }
  return undefined;
}

export interface MissRecord {
  taskId: string;
  spec: TaskSpec;
  nominal: number;
  reason: MissReason;
}
