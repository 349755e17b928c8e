import type { Logger } from 'pino';
import type { TickerObserver } from '../metrics/observer.ts';
import type { Batch } from '../planning/batch-plan.ts';
import { precomputeExecutionIds, scheduleTask, type LeaderState } from '../planning/leader-state.ts';

/** Brings the leader's memory up to a committed batch, settles its commands and schedules what is next. */
export function applyBatch(
  state: LeaderState,
  batch: Batch,
  context: { observer: TickerObserver; logger: Logger; doneRunNow: Set<string> },
): void {
  const { observer, logger } = context;
  for (const [taskId, update] of batch.updates) {
    if (update.remove) {
      state.tasks.delete(taskId);
      continue;
    }
    let task = state.tasks.get(taskId);
    if (!task) {
      task = {
        checkpoint: update.checkpoint,
        spec: undefined,
        cursor: update.cursor,
        next: undefined,
        nextExecutionId: undefined,
        version: 0,
      };
      state.tasks.set(taskId, task);
    }
    task.checkpoint = update.checkpoint;
    task.cursor = update.cursor;
    task.spec = update.spec;
    scheduleTask(state, taskId, task, update.nextAt);
  }
  if (batch.pause) {
    state.pause = batch.pause;
    observer.paused(batch.pause.paused);
    logger.info(
      { paused: batch.pause.paused, by: batch.pause.by },
      batch.pause.paused ? 'ticker paused' : 'ticker resumed',
    );
  }
  if (batch.resumed) {
    // Times held back by the pause are planned at once, by each task's misfire policy.
    for (const [taskId, task] of state.tasks) {
      if (task.spec && task.cursor > task.checkpoint.lastNominal)
        scheduleTask(state, taskId, task, batch.now);
    }
  }
  for (const fire of batch.fires) if (fire.source === 'run_now') context.doneRunNow.add(fire.executionId);
  for (const { queued, outcome } of batch.outcomes) {
    observer.command(queued.command.command, outcome);
    queued.resolve(outcome);
  }
  precomputeExecutionIds(batch.updates.keys(), state);
}
