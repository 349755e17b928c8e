import { SchedulerError } from '@openpenpal/errors';
import type { DelayClient } from '@openpenpal/delay-client';
import type { CheckOutcome, CourierTimeoutRepository } from '@openpenpal/domain';
import { defineTaskHandler } from '@openpenpal/handler-kit';
import type { Producer } from '@openpenpal/messaging';
import type { Clock } from '@openpenpal/timing';
import type { Logger } from 'pino';
import { checkPayloadSchema } from '../config.ts';
import { checkMessages, type CheckBindings } from './messages.ts';
import type { CheckMetrics } from './metrics.ts';
import { checkMessageId, scheduleCheck, type CheckTriggerSpec } from './schedule.ts';

export interface CheckHandlerDeps {
  repository: CourierTimeoutRepository;
  producer: Pick<Producer, 'encode'>;
  delay: DelayClient;
  bindings: CheckBindings;
  spec: CheckTriggerSpec;
  metrics: CheckMetrics;
  clock: Pick<Clock, 'now'>;
  capTimezone: string;
  sweepBatch: number;
}

const HOUR_MS = 3_600_000;

/**
 * One task for an exact-time trigger (`source: delayed`, `business_key` = the task id); every task
 * whose next check time has come for any other (the hourly sweep, run-now, a replay). Each task is
 * checked in its own transaction under its row lock, so a delivery committed first wins and two
 * replicas (or an exact check and the sweep) never take one step twice: the second finds it not due.
 */
export function createCheckHandler(deps: CheckHandlerDeps) {
  const checkOne = async (
    taskId: string,
    context: { executionId: string; timeoutHours: number; reassignAfter: number; now: Date },
    logger: Logger,
  ): Promise<CheckOutcome> => {
    const outcome = await deps.repository.check({
      taskId,
      now: context.now,
      timeoutMs: context.timeoutHours * HOUR_MS,
      reassignAfterReminders: context.reassignAfter,
      capTimezone: deps.capTimezone,
      nextCheckId: checkMessageId,
      messages: (result) =>
        checkMessages(
          deps.producer,
          deps.bindings,
          { executionId: context.executionId, timeoutHours: context.timeoutHours, now: context.now },
          result,
        ),
    });
    deps.metrics.inc({ outcome: outcome.kind });
    if (outcome.kind === 'reminded' || outcome.kind === 'reassigned' || outcome.kind === 'escalated') {
      logger.info({ taskId, outcome: outcome.kind }, 'courier task checked');
      // After the commit: a crash before this leaves the next step to the hourly sweep.
      await scheduleCheck(deps.delay, deps.spec, taskId, outcome.nextCheckAt);
    }
    return outcome;
  };

  return defineTaskHandler({
    taskType: 'courier_timeout_check',
    payloadSchema: checkPayloadSchema,
    handle: async ({ trigger, payload, signal, logger }) => {
      const context = {
        executionId: trigger.execution_id,
        timeoutHours: payload.timeout_hours,
        reassignAfter: payload.reassign_after_reminders,
        now: new Date(deps.clock.now()),
      };
      if (trigger.source === 'delayed' && trigger.business_key) {
        const outcome = await checkOne(trigger.business_key, context, logger);
        if (outcome.kind === 'not_found' || outcome.kind === 'not_active' || outcome.kind === 'not_due') {
          return {
            status: 'skipped',
            reason: 'not_applicable',
            detail:
              outcome.kind === 'not_active'
                ? `courier task ${trigger.business_key} is ${outcome.status}`
                : outcome.kind === 'not_due'
                  ? `courier task ${trigger.business_key} is not due before ${outcome.nextCheckAt.toISOString()}`
                  : `courier task ${trigger.business_key} does not exist`,
          };
        }
        return { status: 'succeeded', result: { task_id: trigger.business_key, outcome: outcome.kind } };
      }
      const counts: Record<string, number> = { reminded: 0, reassigned: 0, escalated: 0, skipped: 0 };
      let afterId: string | null = null;
      for (;;) {
        const ids = await deps.repository.overdue({
          now: context.now,
          timeoutMs: context.timeoutHours * HOUR_MS,
          afterId,
          limit: deps.sweepBatch,
        });
        for (const id of ids) {
          if (signal.aborted)
            throw new SchedulerError('TIMEOUT', `sweep stopped after ${JSON.stringify(counts)}`);
          const outcome = await checkOne(id, context, logger);
          const key = outcome.kind in counts ? outcome.kind : 'skipped';
          counts[key] = (counts[key] ?? 0) + 1;
        }
        afterId = ids.at(-1) ?? null;
        if (ids.length < deps.sweepBatch) break;
      }
      return { status: 'succeeded', result: counts };
    },
  });
}
