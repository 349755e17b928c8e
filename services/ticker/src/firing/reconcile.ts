import type { ExecutionEvent } from '@openpenpal/contracts';
import type { Clock } from '@openpenpal/timing';
import type { Logger } from 'pino';
import type { TaskBook } from '../definitions/task-book.ts';
import type { FirePublisher } from '../kafka/publisher.ts';
import { scheduleTask, type LeaderState } from '../planning/leader-state.ts';
import { nextLook } from '../planning/task-plan.ts';
import type { Checkpoint, InflightMarker, RunningMark, TickerStore } from '../store/store.ts';
import { triggeredEvent } from './events.ts';
import { runningDeadline } from './fire-batch.ts';

export interface ReconcileContext {
  store: TickerStore;
  publisher: FirePublisher;
  book: TaskBook;
  clock: Clock;
  logger: Logger;
  worker: string;
  forbidSlackMs: number;
  /** Read Kafka from this long before the marker, for clock skew between ticker and broker. */
  lookbackMs: number;
}

/**
 * A fire was begun (the inflight marker) and never committed: the leader crashed, or a send or
 * the commit failed. Kafka is the record of what went out, so the triggers written since the
 * marker are read back; every one the checkpoints do not yet reflect is reflected now (its
 * checkpoint advanced and run counted, its TaskTriggered event re-sent under the same event id,
 * its run_now marked done). Times whose trigger never reached Kafka stay after the checkpoint and
 * are planned again by the task's misfire policy. Returns the run_now executions now done.
 */
export async function reconcile(
  ctx: ReconcileContext,
  state: LeaderState,
  marker: InflightMarker,
): Promise<string[]> {
  const read = await ctx.publisher.readTriggers(marker.topics, marker.since - ctx.lookbackMs);
  // Only the ticker's own fires: delay-queue, retry and replay triggers carry token 0 or another source.
  const seen = new Set<string>();
  const own = read
    .filter(({ trigger }) => {
      if (trigger.fencing_token <= 0 || (trigger.source !== 'cron' && trigger.source !== 'run_now'))
        return false;
      if (seen.has(trigger.execution_id)) return false;
      seen.add(trigger.execution_id);
      return true;
    })
    .sort((a, b) => a.trigger.nominal_time - b.trigger.nominal_time);
  const runNow = own
    .filter(({ trigger }) => trigger.source === 'run_now')
    .map(({ trigger }) => trigger.execution_id);
  const done = await ctx.store.doneExecutions(runNow);
  const checkpoints = new Map<string, Checkpoint>();
  const events: ExecutionEvent[] = [];
  const running: RunningMark[] = [];
  const doneNow: string[] = [];
  for (const { topic, trigger } of own) {
    const task = state.tasks.get(trigger.task_id);
    if (!task) continue;
    const checkpoint = checkpoints.get(trigger.task_id) ?? { ...task.checkpoint };
    if (trigger.source === 'cron') {
      if (trigger.nominal_time <= checkpoint.lastNominal) continue;
      checkpoint.lastNominal = trigger.nominal_time;
    } else {
      if (done.has(trigger.execution_id)) continue;
      doneNow.push(trigger.execution_id);
    }
    checkpoint.runCount += 1;
    checkpoints.set(trigger.task_id, checkpoint);
    events.push(triggeredEvent(trigger, topic, ctx.worker));
    const spec = ctx.book.get(trigger.task_id)?.spec;
    if (spec?.forbid) {
      running.push({
        taskId: trigger.task_id,
        executionId: trigger.execution_id,
        deadline: runningDeadline(spec.def, trigger.fire_time, ctx.forbidSlackMs),
      });
    }
  }
  if (events.length > 0) await ctx.publisher.sendEvents(events);
  await ctx.store.commit(state.term.value, ctx.clock.now(), {
    checkpoints,
    deletes: [],
    running,
    doneExecutions: doneNow,
    clearInflight: true,
  });
  const now = ctx.clock.now();
  for (const [taskId, checkpoint] of checkpoints) {
    const task = state.tasks.get(taskId);
    if (!task) continue;
    task.checkpoint = checkpoint;
    task.cursor = Math.max(task.cursor, checkpoint.lastNominal);
    if (task.spec) scheduleTask(state, taskId, task, nextLook(task.spec, task, checkpoint.runCount, now));
  }
  ctx.logger.info(
    { token: marker.token, since: marker.since, read: read.length, reflected: events.length },
    'reconciled an interrupted fire against Kafka',
  );
  return doneNow;
}
