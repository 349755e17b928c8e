import type { MissReason } from '@openpenpal/contracts';
import { checkRunLimits } from '@openpenpal/cron';
import { nextDue, planDue, type TaskSpec } from '../definitions/task-spec.ts';
import type { Checkpoint, PauseState } from '../store/store.ts';

export interface TaskPlan {
  /** Nominal times to fire now, oldest first. */
  fires: number[];
  /** Nominal times that will never fire, each recorded as TaskMissed. */
  misses: { nominal: number; reason: MissReason }[];
  /** The checkpoint's last nominal time once this plan is carried out. */
  lastNominal: number;
  /** Nominal times up to here have been looked at; while paused, those after lastNominal wait. */
  cursor: number;
  /** When to look at the task again, if earlier than its next nominal time (pending times under `skip`). */
  recheckAt?: number;
}

/** Whether a nominal time fell inside the current or last pause. */
function inPause(pause: PauseState, nominal: number, now: number): boolean {
  if (pause.since === undefined || nominal < pause.since) return false;
  return pause.paused || nominal <= (pause.resumedAt ?? now);
}

/**
 * What to do about one task that is due. In the steady state (nothing pending, on time) this is
 * the due time alone, without touching the cron package: that path runs for every task at every
 * tick. Otherwise the task's misfire policy plans every nominal time since the checkpoint.
 *
 * While paused nothing fires: the times the policy would still fire on resume stay pending (after
 * lastNominal), and the ones it has already given up are recorded now, reason `paused`.
 */
export function planTask(input: {
  spec: TaskSpec;
  checkpoint: Checkpoint;
  cursor: number;
  dueAt: number;
  now: number;
  pause: PauseState;
}): TaskPlan {
  const { spec, checkpoint, cursor, dueAt, now, pause } = input;
  const last = checkpoint.lastNominal;
  // Nominal times are whole seconds apart at least, so within a second of `dueAt` it is the only
  // time in (last, now] when nothing was pending before it.
  if (
    !pause.paused &&
    cursor === last &&
    dueAt > last &&
    now - dueAt <= Math.min(spec.graceMs, 999) &&
    checkRunLimits(spec.limits, dueAt, checkpoint.runCount).allowed
  ) {
    return { fires: [dueAt], misses: [], lastNominal: dueAt, cursor: dueAt };
  }
  const plan = planDue(spec, last, now, checkpoint.runCount);
  if (pause.paused) {
    const lastMissed = plan.missed.at(-1)?.nominal;
    const pending = plan.fire[0];
    return {
      fires: [],
      misses: plan.missed.map(({ nominal }) => ({ nominal, reason: 'paused' as const })),
      lastNominal: lastMissed === undefined ? last : Math.max(last, lastMissed),
      cursor: Math.max(cursor, now),
      // Under `skip` a pending time becomes a miss once it is older than the grace period.
      ...(spec.policy === 'skip' && pending !== undefined ? { recheckAt: pending + spec.graceMs + 1 } : {}),
    };
  }
  const misses = plan.missed.map(({ nominal, reason }) => ({
    nominal,
    reason: inPause(pause, nominal, now) ? ('paused' as const) : reason,
  }));
  const handled = Math.max(last, plan.fire.at(-1) ?? last, plan.missed.at(-1)?.nominal ?? last);
  return { fires: plan.fire, misses, lastNominal: handled, cursor: handled };
}

/** The next time to look at a task after a plan: its next nominal time, or earlier for a recheck. */
export function nextLook(
  spec: TaskSpec,
  plan: Pick<TaskPlan, 'cursor' | 'recheckAt'>,
  runCount: number,
  now: number,
): number | undefined {
  let next = nextDue(spec, plan.cursor, runCount);
  // Never hand back a time already behind us that the plan did not consume (a guard against a
  // definition whose limits the plan and nextDue read differently): look again from now.
  if (next !== undefined && next <= plan.cursor) next = nextDue(spec, now, runCount);
  if (plan.recheckAt !== undefined && (next === undefined || plan.recheckAt < next)) return plan.recheckAt;
  return next;
}
