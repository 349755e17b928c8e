import { randomUUID } from 'node:crypto';
import type { Contracts, ExecutionEvent, TaskTrigger, TaskType } from '@openpenpal/contracts';
import type { DelayClient } from '@openpenpal/delay-client';
import { SchedulerError, errorCodeOf, isRetryable, toError, type ErrorCode } from '@openpenpal/errors';
import {
  sendToDeadLetterTopic,
  type ConsumedMessage,
  type Producer,
  type TopicBinding,
} from '@openpenpal/messaging';
import { fullJitterDelay, retry, type BackoffPolicy, type Clock } from '@openpenpal/timing';
import { TIME_RANGE } from '@openpenpal/task-definitions';
import type { Logger } from 'pino';
import type { TaskHandlerDefinition, TaskOutcome } from './define.ts';
import {
  deadLetteredEvent,
  failedEvent,
  retryMessageId,
  retryScheduledEvent,
  skippedEvent,
  startedEvent,
  triggeredEvent,
  succeededEvent,
} from './events.ts';
import type { ExecutionStore } from './execution-store.ts';
import type { HandlerMetrics } from './metrics.ts';

export interface RunDependencies {
  contracts: Contracts;
  producer: Producer;
  delay: DelayClient;
  store: ExecutionStore;
  clock: Pick<Clock, 'now'>;
  logger: Logger;
  metrics: HandlerMetrics;
  /** Names this process in the events (`worker`). */
  worker: string;
  groupId: string;
  triggers: TopicBinding<'TaskTrigger'>;
  executionEvents: TopicBinding<'ExecutionEvent'>;
  /** Backoff of task-level retries: full jitter under initial × 2^(attempt−1), capped. */
  retryBackoff: BackoffPolicy;
  /**
   * How long a claim lasts unless renewed; a running attempt renews it every third of this. A
   * worker that dies mid-attempt blocks the attempt's redelivery for at most this long.
   */
  claimMs: number;
}

/** The error an attempt ended with, as the execution events report it. */
interface AttemptError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
}

const MAX_ERROR_MESSAGE = 1_000;

function describe(error: unknown, timedOut: boolean, timeoutSecs: number): AttemptError {
  if (timedOut) {
    return {
      code: 'TIMEOUT',
      message: `the attempt ran longer than its timeout of ${timeoutSecs} s`,
      retryable: true,
    };
  }
  return {
    code: errorCodeOf(error),
    message: toError(error).message.slice(0, MAX_ERROR_MESSAGE),
    retryable: isRetryable(error),
  };
}

/** Resolves with `work`, or rejects once `signal` aborts, whichever comes first (a handler that ignores its signal still ends). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new SchedulerError('TIMEOUT', 'the attempt was aborted'));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * What no producer of ours writes: refused before anything is claimed, so the consumer dead-letters
 * the trigger with the field (a bad time would otherwise run the task, or fail in the database).
 */
function checkTrigger(trigger: TaskTrigger): void {
  const problem = (field: string, text: string) =>
    new SchedulerError('VALIDATION_FAILED', `invalid trigger: ${field}: ${text}`, { details: { field } });
  if (trigger.attempt < 1) throw problem('attempt', 'at least 1');
  if (trigger.max_retries < 0) throw problem('max_retries', 'at least 0');
  if (trigger.timeout_secs < 1) throw problem('timeout_secs', 'at least 1');
  for (const field of ['nominal_time', 'fire_time'] as const) {
    const at = trigger[field];
    if (at < TIME_RANGE.min || at > TIME_RANGE.max) {
      throw problem(field, 'an instant from 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z');
    }
  }
}

function parsePayload<P>(handler: TaskHandlerDefinition<TaskType, P>, trigger: TaskTrigger): P {
  let json: unknown;
  try {
    json = JSON.parse(trigger.payload);
  } catch {
    throw new SchedulerError('VALIDATION_FAILED', 'the trigger payload is not JSON', {
      details: { field: 'payload' },
    });
  }
  const parsed = handler.payloadSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({
      field: ['payload', ...i.path].join('.'),
      problem: i.message,
    }));
    throw new SchedulerError(
      'VALIDATION_FAILED',
      `invalid payload: ${problems.map((p) => `${p.field}: ${p.problem}`).join('; ')}`,
      { details: { problems } },
    );
  }
  return parsed.data;
}

/**
 * Runs one trigger of a task type under the execution protocol:
 *
 * 1. claim the attempt (a finished execution or an attempt already run is dropped: a duplicate
 *    trigger runs nothing; an attempt another worker runs now waits, EXECUTION_IN_PROGRESS);
 * 2. `ExecutionStarted`;
 * 3. the handler, aborted at `timeout_secs`;
 * 4. `ExecutionSucceeded` (or `ExecutionSkipped`), or `ExecutionFailed` and then either the next
 *    attempt scheduled through the delay queue after a backoff (`ExecutionRetryScheduled`) or, when
 *    the error is not retryable or `max_retries` is used up, the trigger sent to its dead-letter
 *    topic (`ExecutionDeadLettered`);
 * 5. the outcome recorded, last: a crash before it runs the attempt again, and its events carry
 *    the same ids, so the history records them once.
 */
export async function runTrigger<P>(
  deps: RunDependencies,
  handler: TaskHandlerDefinition<TaskType, P>,
  message: ConsumedMessage<TaskTrigger>,
  shutdown: AbortSignal,
): Promise<void> {
  const trigger = message.value;
  const log = deps.logger.child({
    executionId: trigger.execution_id,
    taskId: trigger.task_id,
    attempt: trigger.attempt,
  });
  if (trigger.task_type !== handler.taskType) {
    throw new SchedulerError(
      'VALIDATION_FAILED',
      `a ${trigger.task_type} trigger on the ${handler.taskType} handler's topic`,
      { details: { field: 'task_type' } },
    );
  }
  checkTrigger(trigger);
  const now = deps.clock.now();
  const token = randomUUID();
  const claim = await deps.store.claim({
    executionId: trigger.execution_id,
    taskType: trigger.task_type,
    taskId: trigger.task_id,
    attempt: trigger.attempt,
    now,
    claimUntil: now + deps.claimMs,
    token,
  });
  if (!claim.claimed) {
    if ('busyUntil' in claim) {
      throw new SchedulerError('EXECUTION_IN_PROGRESS', 'another worker runs this attempt', {
        details: { busyUntil: new Date(claim.busyUntil).toISOString() },
      });
    }
    deps.metrics.duplicate(trigger);
    log.info({ recorded: claim }, 'duplicate trigger dropped: the attempt already ran');
    return;
  }

  const held = keepClaim(deps, trigger, token, log);
  try {
    await runClaimed(deps, handler, message, shutdown, held.lost, log);
  } finally {
    held.stop();
  }
}

/**
 * Renews the claim every third of `claimMs` while the attempt runs. `lost` aborts when the claim is
 * no longer this run's (it expired while renewals failed and another worker took it over): the run
 * stops without recording anything, and the trigger waits for that worker (EXECUTION_IN_PROGRESS).
 */
function keepClaim(deps: RunDependencies, trigger: TaskTrigger, token: string, log: Logger) {
  const lost = new AbortController();
  const timer = setInterval(
    () => {
      deps.store
        .renew({
          executionId: trigger.execution_id,
          attempt: trigger.attempt,
          token,
          claimUntil: deps.clock.now() + deps.claimMs,
        })
        .then((renewed) => {
          if (renewed || lost.signal.aborted) return;
          log.warn('the claim of this attempt was taken over by another worker; stopping it');
          lost.abort();
        })
        .catch((error: unknown) => log.warn({ err: toError(error) }, 'renewing the claim failed; retrying'));
    },
    Math.max(50, Math.floor(deps.claimMs / 3)),
  );
  timer.unref();
  return { lost: lost.signal, stop: () => clearInterval(timer) };
}

async function runClaimed<P>(
  deps: RunDependencies,
  handler: TaskHandlerDefinition<TaskType, P>,
  message: ConsumedMessage<TaskTrigger>,
  shutdown: AbortSignal,
  lost: AbortSignal,
  log: Logger,
): Promise<void> {
  const trigger = message.value;
  const timeoutMs = trigger.timeout_secs * 1000;
  const emit = (event: ExecutionEvent) =>
    deps.producer.send(deps.executionEvents, [
      { key: trigger.execution_id, value: event, messageId: event.event_id },
    ]);
  // Exact-time triggers reach the handler from the delay queue, which records no TaskTriggered.
  if (trigger.source === 'delayed' && trigger.attempt === 1) {
    const firedAt = message.timestamp > 0 ? message.timestamp : deps.clock.now();
    await emit(triggeredEvent(trigger, firedAt, message.topic, deps.worker));
  }
  const startedAt = deps.clock.now();
  await emit(startedEvent(trigger, startedAt, deps.worker));

  const timeout = AbortSignal.timeout(Math.max(1, timeoutMs));
  const signal = AbortSignal.any([shutdown, timeout, lost]);
  let outcome: TaskOutcome;
  try {
    const payload = parsePayload(handler, trigger);
    outcome = await untilAborted(handler.handle({ trigger, payload, signal, logger: log }), signal);
  } catch (error) {
    if (lost.aborted && !timeout.aborted) {
      throw new SchedulerError('EXECUTION_IN_PROGRESS', 'the claim of this attempt was taken over', {
        cause: error,
      });
    }
    if (shutdown.aborted && !timeout.aborted) {
      // Not the attempt's fault: leave it for the next worker at once (the trigger is not committed).
      await deps.store.settleInterrupted(trigger.execution_id, trigger.attempt);
      throw error;
    }
    await failed(
      deps,
      trigger,
      message,
      describe(error, timeout.aborted, trigger.timeout_secs),
      startedAt,
      emit,
      log,
    );
    return;
  }
  const finishedAt = deps.clock.now();
  const durationMs = finishedAt - startedAt;
  if (outcome.status === 'skipped') {
    await emit(skippedEvent(trigger, finishedAt, outcome.reason, outcome.detail, deps.worker));
    await settle(deps, trigger, 'skipped', log);
  } else {
    await emit(succeededEvent(trigger, finishedAt, durationMs, outcome.result, deps.worker));
    await settle(deps, trigger, 'succeeded', log);
  }
  deps.metrics.finished(trigger, outcome.status, durationMs);
  log.info({ status: outcome.status, durationMs }, 'attempt finished');
}

/**
 * Records how the attempt ended, once its outcome events are out. The attempt is over by then: a
 * store that fails (PostgreSQL restarting) is tried again for up to `claimMs`, and if it still
 * fails the attempt is left as it is rather than failing the trigger — a failed trigger would be
 * delivered again and, once its claim expired, run the attempt a second time after its outcome
 * (a retry already scheduled, or a success) was recorded. The next attempt claims over the
 * unsettled row; a copy of this trigger waits for the claim to expire.
 */
async function settle(
  deps: RunDependencies,
  trigger: TaskTrigger,
  status: Parameters<ExecutionStore['settle']>[2],
  log: Logger,
): Promise<void> {
  try {
    await retry(() => deps.store.settle(trigger.execution_id, trigger.attempt, status), {
      initialDelayMs: 100,
      maxDelayMs: 1_000,
      deadline: deps.clock.now() + deps.claimMs,
      clock: deps.clock,
    });
  } catch (error) {
    log.warn(
      { err: toError(error), status },
      'the attempt ended but its outcome could not be recorded in the execution store; left unsettled',
    );
  }
}

async function failed(
  deps: RunDependencies,
  trigger: TaskTrigger,
  message: ConsumedMessage<TaskTrigger>,
  error: AttemptError,
  startedAt: number,
  emit: (event: ExecutionEvent) => Promise<unknown>,
  log: Logger,
): Promise<void> {
  const failedAt = deps.clock.now();
  const durationMs = failedAt - startedAt;
  await emit(failedEvent(trigger, failedAt, durationMs, error, deps.worker));
  deps.metrics.finished(trigger, 'failed', durationMs);
  if (error.retryable && trigger.attempt <= trigger.max_retries) {
    const retryAt = failedAt + fullJitterDelay(deps.retryBackoff, trigger.attempt);
    const next: TaskTrigger = {
      ...trigger,
      attempt: trigger.attempt + 1,
      source: 'retry',
      fire_time: retryAt,
    };
    await deps.delay.schedule({
      messageId: retryMessageId(trigger),
      dueAt: retryAt,
      // Keyed like exact-time triggers (by their item), so retries of one task type spread over the
      // topic's partitions; a cron task's retries stay with its other triggers.
      target: { binding: deps.triggers, key: trigger.business_key ?? trigger.task_id, value: next },
    });
    await emit(retryScheduledEvent(trigger, failedAt, retryAt, deps.worker));
    await settle(deps, trigger, 'retry_scheduled', log);
    deps.metrics.finished(trigger, 'retry_scheduled', durationMs);
    log.warn({ error, retryAt: new Date(retryAt).toISOString() }, 'attempt failed; retry scheduled');
    return;
  }
  const dlq = await sendToDeadLetterTopic(
    deps.producer,
    {
      topic: deps.triggers.topic,
      partition: message.partition,
      message: {
        key: Buffer.from(trigger.task_id),
        value: deps.contracts.codec('TaskTrigger').encode(trigger),
        headers: message.headers,
        offset: message.offset,
        timestamp: String(message.timestamp),
        attributes: 0,
      },
      groupId: deps.groupId,
      error: new SchedulerError(error.code, error.message, { retryable: error.retryable }),
      attempts: trigger.attempt,
    },
    failedAt,
  );
  await emit(deadLetteredEvent(trigger, failedAt, error, dlq, deps.worker));
  await settle(deps, trigger, 'dead_lettered', log);
  deps.metrics.finished(trigger, 'dead_lettered', durationMs);
  log.error({ error, dlq }, 'execution dead-lettered');
}
