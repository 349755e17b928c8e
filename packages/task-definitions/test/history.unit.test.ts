import { describe, expect, it } from 'vitest';
import {
  evolveExecution,
  evolveTaskStats,
  foldExecution,
  type ExecutionState,
  type TaskStats,
} from '../src/index.ts';
import { T0, executionEvent } from './fixtures.ts';

const id = 'a5b0d3f2-6c1e-4e55-9a0e-111111111111';
const ev = (type: string, data: Record<string, unknown>, at: number, envelope?: Record<string, unknown>) =>
  executionEvent(id, type, data, at, envelope);

const triggered = (attempt: number, at: number, source = 'cron') =>
  ev(
    'TaskTriggered',
    {
      nominal_time: T0,
      fire_time: at,
      attempt,
      source,
      fencing_token: 3,
      trigger_topic: 'scheduler.trigger.letter-cleanup',
      original_execution_id: null,
      business_key: null,
    },
    at,
  );
const started = (attempt: number, at: number) =>
  ev('ExecutionStarted', { attempt, started_at: at }, at, { worker: 'handler-1' });
const failed = (attempt: number, at: number) =>
  ev(
    'ExecutionFailed',
    {
      attempt,
      failed_at: at,
      duration_ms: 40,
      error_code: 'HANDLER_FAILED',
      error_message: 'db down',
      retryable: true,
    },
    at,
  );
const succeeded = (attempt: number, at: number) =>
  ev('ExecutionSucceeded', { attempt, succeeded_at: at, duration_ms: 25, result: '{"moved":3}' }, at);

describe('folding an execution stream', () => {
  it('follows a run from trigger to success', () => {
    const state = foldExecution([triggered(1, T0 + 1), started(1, T0 + 2), succeeded(1, T0 + 27)]);

    expect(state).toMatchObject({
      execution_id: id,
      task_id: 'cleanup',
      status: 'succeeded',
      attempts: 1,
      nominal_time: T0,
      started_at: T0 + 2,
      finished_at: T0 + 27,
      duration_ms: 25,
      worker: 'handler-1',
      source: 'cron',
      result: '{"moved":3}',
      error_code: null,
      updated_at: T0 + 27,
    });
  });

  it('does not move the status back when the trigger is recorded after the start', () => {
    const state = foldExecution([started(1, T0 + 2), triggered(1, T0 + 3)]);
    expect(state).toMatchObject({ status: 'running', nominal_time: T0, source: 'cron', started_at: T0 + 2 });
  });

  it('follows retries to dead-lettering, keeping the first source and the last error', () => {
    const state = foldExecution([
      triggered(1, T0 + 1),
      started(1, T0 + 2),
      failed(1, T0 + 42),
      ev('ExecutionRetryScheduled', { next_attempt: 2, retry_at: T0 + 1000, delay_ms: 958 }, T0 + 43),
      triggered(2, T0 + 1000, 'retry'),
      started(2, T0 + 1001),
      failed(2, T0 + 1041),
      ev(
        'ExecutionDeadLettered',
        { attempts: 2, error_code: 'HANDLER_FAILED', error_message: 'db down', dead_letter_topic: 'x.dlq' },
        T0 + 1042,
      ),
    ]);

    expect(state).toMatchObject({
      status: 'dead_lettered',
      attempts: 2,
      source: 'cron',
      started_at: T0 + 1001,
      finished_at: T0 + 1041,
      error_code: 'HANDLER_FAILED',
      error_message: 'db down',
    });
  });

  it('gives the same state when an event is applied twice', () => {
    const once = foldExecution([triggered(1, T0 + 1), started(1, T0 + 2)])!;
    expect(evolveExecution(once, started(1, T0 + 2))).toEqual(once);
  });

  it('records skips, misses and the link to a re-run', () => {
    const skipped = foldExecution([
      triggered(1, T0 + 1),
      ev(
        'ExecutionSkipped',
        { reason: 'already_done', skipped_at: T0 + 5, detail: 'released by sweep' },
        T0 + 5,
      ),
      ev('ExecutionReplayed', { new_execution_id: 'next-id' }, T0 + 9),
    ]);
    const missed = foldExecution([
      ev('TaskMissed', { nominal_time: T0, reason: 'downtime', policy: 'skip' }, T0 + 60_000),
    ]);

    expect(skipped).toMatchObject({ status: 'skipped', finished_at: T0 + 5, replayed_as: 'next-id' });
    expect(JSON.parse(skipped!.result!)).toEqual({
      skip_reason: 'already_done',
      detail: 'released by sweep',
    });
    expect(missed).toMatchObject({ status: 'missed', nominal_time: T0, attempts: 0 });
  });

  it('ignores event types it does not know', () => {
    const state = foldExecution([triggered(1, T0 + 1)])!;
    expect(evolveExecution(state, ev('ExecutionPaused', {}, T0 + 2))).toBe(state);
  });

  it('knows no execution before its first lifecycle event', () => {
    expect(foldExecution([ev('ExecutionPaused', {}, T0)])).toBeUndefined();
    expect(foldExecution([ev('ExecutionReplayed', { new_execution_id: 'x' }, T0)])).toBeUndefined();
  });

  it('leaves out times no calendar holds and durations that are not whole milliseconds, keeping the rest', () => {
    const trigger = (nominal: number) => ({
      ...triggered(1, T0 + 1),
      data: { ...triggered(1, T0 + 1).data, nominal_time: nominal },
    });
    for (const impossible of [-1e15, 8.7e15, 253_402_300_800_000, -62_135_596_800_001, 1.5]) {
      expect(foldExecution([trigger(impossible), started(1, T0 + 2)])).toMatchObject({
        status: 'running',
        nominal_time: null,
        started_at: T0 + 2,
      });
    }
    // The first and last millisecond of years 1 and 9999 are kept.
    expect(foldExecution([trigger(-62_135_596_800_000)])?.nominal_time).toBe(-62_135_596_800_000);
    expect(foldExecution([trigger(253_402_300_799_999)])?.nominal_time).toBe(253_402_300_799_999);

    const end = ev(
      'ExecutionSucceeded',
      { attempt: 1, succeeded_at: 9e15, duration_ms: 1e300, result: null },
      T0 + 3,
    );
    expect(foldExecution([triggered(1, T0 + 1), end])).toMatchObject({
      status: 'succeeded',
      finished_at: null,
      duration_ms: null,
      started_at: null,
    });
    // A start derived from an end and a duration that reaches before year 1 is left out too.
    const early = ev(
      'ExecutionFailed',
      {
        attempt: 1,
        failed_at: -62_135_596_000_000,
        duration_ms: 10_000_000,
        error_code: 'X',
        error_message: 'x',
      },
      T0 + 3,
    );
    expect(foldExecution([early])).toMatchObject({
      status: 'failed',
      finished_at: -62_135_596_000_000,
      started_at: null,
    });
  });
});

describe('counting runs per task', () => {
  const apply = (events: ReturnType<typeof ev>[], stats?: TaskStats): TaskStats => {
    let state: ExecutionState | undefined;
    let current = stats;
    for (const event of events) {
      const next = evolveExecution(state, event);
      if (next === undefined) continue;
      current = evolveTaskStats(current, state, next);
      state = next;
    }
    return current!;
  };

  it('counts a run once when it starts and a failure once when it is dead-lettered', () => {
    const stats = apply([
      triggered(1, T0 + 1),
      started(1, T0 + 2),
      started(1, T0 + 2),
      failed(1, T0 + 42),
      ev(
        'ExecutionDeadLettered',
        { attempts: 1, error_code: 'TIMEOUT', error_message: 'too slow', dead_letter_topic: 'x.dlq' },
        T0 + 43,
      ),
    ]);

    expect(stats).toMatchObject({
      task_id: 'cleanup',
      run_count: 1,
      failure_count: 1,
      last_run_at: T0 + 2,
      last_status: 'failed',
      last_error: 'TIMEOUT: too slow',
      last_finished_at: T0 + 42,
    });
  });

  it('keeps the outcome of the execution that finished last, whatever order they are recorded in', () => {
    const later = apply([triggered(1, T0 + 100), started(1, T0 + 100), succeeded(1, T0 + 125)]);
    const stats = apply(
      [
        triggered(1, T0 + 1),
        started(1, T0 + 2),
        failed(1, T0 + 42),
        ev(
          'ExecutionDeadLettered',
          { attempts: 1, error_code: 'X', error_message: 'y', dead_letter_topic: 'd' },
          T0 + 200,
        ),
      ],
      later,
    );

    expect(stats).toMatchObject({
      run_count: 2,
      failure_count: 1,
      last_run_at: T0 + 100,
      last_status: 'succeeded',
      last_error: null,
      last_result: '{"moved":3}',
    });
  });
});
