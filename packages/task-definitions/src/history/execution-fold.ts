import type { JsonObject } from '@openpenpal/event-store';

/**
 * What the history knows about one execution: the fold of stream `execution-<execution_id>`, and one row
 * of the recorder's `executions` read model. Times are epoch milliseconds.
 */
export interface ExecutionState {
  execution_id: string;
  task_id: string;
  task_type: string;
  status: ExecutionStatus;
  attempts: number;
  nominal_time: number | null;
  started_at: number | null;
  finished_at: number | null;
  duration_ms: number | null;
  error_code: string | null;
  error_message: string | null;
  worker: string | null;
  /** Why the execution was first triggered (a retry's trigger does not replace it). */
  source: string | null;
  original_execution_id: string | null;
  business_key: string | null;
  trigger_topic: string | null;
  /** The run's result (ExecutionSucceeded.result) or, for a skip, `{"skip_reason":…,"detail":…}`. */
  result: string | null;
  /** The execution that re-ran this one (ExecutionReplayed), if any. */
  replayed_as: string | null;
  /**
   * attempt × 10 + step, the furthest point the execution has reached. Events of one execution come from
   * different producers (ticker, handler), so they may be recorded out of order; an event behind this
   * point adds facts but does not move the status back.
   */
  progress: number;
  /** Recorded time of the latest event applied (not a clock reading: a rebuild gives the same value). */
  updated_at: number;
}

export const EXECUTION_STATUSES = [
  'missed',
  'triggered',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'retry_scheduled',
  'dead_lettered',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** The event type our replay writes into the original execution's stream (not an Avro variant). */
export const EXECUTION_REPLAYED = 'ExecutionReplayed';

/** The part of a recorded execution event the fold reads. */
export interface ExecutionEventInput {
  type: string;
  data: JsonObject;
  recordedAt: number;
}

const str = (data: JsonObject, key: string): string | null => {
  const value = data[key];
  return typeof value === 'string' ? value : null;
};
const num = (data: JsonObject, key: string): number | null => {
  const value = data[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
};

/**
 * The times the history keeps: 0001-01-01 to 9999-12-31 UTC, what a JavaScript Date, ISO 8601 with
 * four-digit years and PostgreSQL's timestamptz all hold. A time outside (a producer's bug: −1e15,
 * 8.7e15) is impossible, so the fold leaves it out (null) rather than carry a value no read model can
 * store; the event's other facts still apply.
 */
const HISTORY_TIME_RANGE = { min: -62_135_596_800_000, max: 253_402_300_799_999 } as const;

const inRange = (value: number | null): number | null =>
  value !== null &&
  Number.isInteger(value) &&
  value >= HISTORY_TIME_RANGE.min &&
  value <= HISTORY_TIME_RANGE.max
    ? value
    : null;

/** An epoch-milliseconds time of the event, or null when missing or impossible. */
const time = (data: JsonObject, key: string): number | null => inRange(num(data, key));

/** A duration in milliseconds: a whole number from 0 to the whole time range, or null. */
const durationOf = (data: JsonObject): number | null => {
  const value = num(data, 'duration_ms');
  return value !== null &&
    Number.isInteger(value) &&
    value >= 0 &&
    value <= HISTORY_TIME_RANGE.max - HISTORY_TIME_RANGE.min
    ? value
    : null;
};

function initial(event: ExecutionEventInput): ExecutionState {
  return {
    execution_id: str(event.data, 'execution_id') ?? '',
    task_id: str(event.data, 'task_id') ?? '',
    task_type: str(event.data, 'task_type') ?? 'unknown',
    status: 'triggered',
    attempts: 0,
    nominal_time: null,
    started_at: null,
    finished_at: null,
    duration_ms: null,
    error_code: null,
    error_message: null,
    worker: null,
    source: null,
    original_execution_id: null,
    business_key: null,
    trigger_topic: null,
    result: null,
    replayed_as: null,
    progress: -1,
    updated_at: event.recordedAt,
  };
}

/** Where an event puts the execution: status and point (attempt × 10 + step), or nothing for facts only. */
function stepOf(
  state: ExecutionState,
  event: ExecutionEventInput,
): { status: ExecutionStatus; point: number } | undefined {
  const { data } = event;
  const attempt = num(data, 'attempt') ?? Math.max(state.attempts, 1);
  switch (event.type) {
    case 'TaskMissed':
      return { status: 'missed', point: 0 };
    case 'TaskTriggered':
      return { status: 'triggered', point: attempt * 10 + 1 };
    case 'ExecutionStarted':
      return { status: 'running', point: attempt * 10 + 2 };
    case 'ExecutionSucceeded':
      return { status: 'succeeded', point: attempt * 10 + 3 };
    case 'ExecutionFailed':
      return { status: 'failed', point: attempt * 10 + 3 };
    case 'ExecutionSkipped':
      return { status: 'skipped', point: attempt * 10 + 3 };
    case 'ExecutionRetryScheduled':
      return { status: 'retry_scheduled', point: ((num(data, 'next_attempt') ?? attempt + 1) - 1) * 10 + 4 };
    case 'ExecutionDeadLettered':
      return { status: 'dead_lettered', point: (num(data, 'attempts') ?? attempt) * 10 + 5 };
    default:
      return undefined;
  }
}

/**
 * Applies one recorded event; pure. Unknown types change nothing (newer producers cannot break it), and
 * an execution exists from its first known lifecycle event on: undefined until then.
 */
export function evolveExecution(
  state: ExecutionState | undefined,
  event: ExecutionEventInput,
): ExecutionState | undefined {
  if (event.type === EXECUTION_REPLAYED) {
    if (state === undefined) return undefined;
    return {
      ...state,
      replayed_as: str(event.data, 'new_execution_id') ?? state.replayed_as,
      updated_at: Math.max(state.updated_at, event.recordedAt),
    };
  }
  const base = state ?? initial(event);
  const step = stepOf(base, event);
  if (step === undefined) return state;
  const { data } = event;
  const next: ExecutionState = { ...base, updated_at: Math.max(base.updated_at, event.recordedAt) };
  const attempt = num(data, 'attempt') ?? num(data, 'attempts');
  if (attempt !== null) next.attempts = Math.max(next.attempts, attempt);
  if (event.type === 'TaskMissed' || event.type === 'TaskTriggered')
    next.nominal_time ??= time(data, 'nominal_time');
  if (event.type === 'TaskTriggered') {
    const source = str(data, 'source');
    if (next.source === null || (next.source === 'retry' && source !== 'retry')) next.source = source;
    next.original_execution_id ??= str(data, 'original_execution_id');
    next.business_key ??= str(data, 'business_key');
    next.trigger_topic = str(data, 'trigger_topic') ?? next.trigger_topic;
  }
  if (step.point < base.progress) return next;
  next.status = step.status;
  next.progress = step.point;
  next.worker = str(data, 'worker') ?? next.worker;
  switch (event.type) {
    case 'ExecutionStarted':
      next.started_at = time(data, 'started_at') ?? next.started_at;
      next.finished_at = null;
      next.duration_ms = null;
      break;
    case 'ExecutionSucceeded':
    case 'ExecutionFailed': {
      const finished = time(data, event.type === 'ExecutionSucceeded' ? 'succeeded_at' : 'failed_at');
      const duration = durationOf(data);
      next.finished_at = finished;
      next.duration_ms = duration;
      // No ExecutionStarted recorded (yet): the attempt's start follows from its end and duration.
      if (next.started_at === null && finished !== null && duration !== null)
        next.started_at = inRange(finished - duration);
      next.error_code = event.type === 'ExecutionFailed' ? str(data, 'error_code') : null;
      next.error_message = event.type === 'ExecutionFailed' ? str(data, 'error_message') : null;
      if (event.type === 'ExecutionSucceeded') next.result = str(data, 'result');
      break;
    }
    case 'ExecutionSkipped':
      next.finished_at = time(data, 'skipped_at');
      next.result = JSON.stringify({ skip_reason: str(data, 'reason'), detail: str(data, 'detail') });
      break;
    case 'ExecutionDeadLettered':
      next.error_code = str(data, 'error_code') ?? next.error_code;
      next.error_message = str(data, 'error_message') ?? next.error_message;
      next.finished_at ??= time(data, 'occurred_at');
      break;
    default:
      break;
  }
  return next;
}

export function foldExecution(events: readonly ExecutionEventInput[]): ExecutionState | undefined {
  return events.reduce<ExecutionState | undefined>(evolveExecution, undefined);
}

/** Executions an operator may re-run: those that failed for good, or whose last attempt failed. */
export const RERUNNABLE_STATUSES: readonly ExecutionStatus[] = ['failed', 'dead_lettered'];
