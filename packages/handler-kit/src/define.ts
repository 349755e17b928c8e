import type { SkipReason, TaskTrigger, TaskType } from '@openpenpal/contracts';
import type { Logger } from 'pino';
import type { z } from 'zod';

/** What one attempt of one execution gets. */
export interface TaskContext<P> {
  trigger: TaskTrigger;
  /** The trigger's payload, parsed and validated with the handler's payload schema. */
  payload: P;
  /** Aborted when the task's timeout (`timeout_secs`) passes or the service shuts down. */
  signal: AbortSignal;
  logger: Logger;
}

/** How an attempt ended when it did not throw. */
export type TaskOutcome =
  /** Done; `result` is the run's summary (a JSON object: the task's `last_result`). */
  | { status: 'succeeded'; result?: Record<string, unknown> }
  /** Not run, on purpose (the item was already handled, no longer applies...). */
  | { status: 'skipped'; reason: SkipReason; detail?: string };

export interface TaskHandlerDefinition<T extends TaskType = TaskType, P = unknown> {
  taskType: T;
  /** Validates the trigger's JSON payload; a payload it refuses fails the execution for good. */
  payloadSchema: z.ZodType<P>;
  /**
   * Does the work of one attempt. Returns how it ended, or throws: a SchedulerError whose code is
   * not retryable (VALIDATION_FAILED, NON_RETRYABLE_FAILURE...) skips retries; anything else is
   * retried through the delay queue up to the trigger's `max_retries`. Effects must be idempotent
   * on the execution id (and the trigger's business key): an attempt may run again after a crash.
   */
  handle(ctx: TaskContext<P>): Promise<TaskOutcome>;
}

/** Types a handler definition (the payload type is inferred from its schema). */
export function defineTaskHandler<T extends TaskType, P>(
  definition: TaskHandlerDefinition<T, P>,
): TaskHandlerDefinition<T, P> {
  return definition;
}

/**
 * Every task type with a trigger topic mapped to its handler: a catalogue built as
 * `{ … } satisfies HandlerCatalogue<…>` fails to compile when a task type has no handler.
 */
export type HandlerCatalogue<Types extends TaskType> = {
  readonly [K in Types]: CataloguedHandler<K>;
};

/** A handler of task type `K`, whatever its payload type. */
interface CataloguedHandler<K extends TaskType> {
  readonly taskType: K;
  readonly payloadSchema: z.ZodType;
  // Method syntax on purpose: any payload type's handle() fits.
  handle(ctx: TaskContext<never>): Promise<TaskOutcome>;
}
