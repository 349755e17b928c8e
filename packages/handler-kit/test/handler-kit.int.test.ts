import { unionBranch } from '@openpenpal/contracts';
import { DLQ_HEADERS } from '@openpenpal/messaging';
import { collectTopics, waitFor } from '@openpenpal/test-kit';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { contracts, probeTrigger, startHandlerWorld, type HandlerWorld } from './support.ts';

const stack = inject('stack');

describe('handler kit', () => {
  let world: HandlerWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  const typesOf = (w: HandlerWorld, executionId: string) => w.eventsOf(executionId).map((e) => e.type);

  it('runs a trigger and records started then succeeded with the result', async () => {
    world = await startHandlerWorld(stack);
    const trigger = probeTrigger({ mark: 'one' });
    await world.send(trigger);
    const w = world;
    await waitFor(() => typesOf(w, trigger.execution_id).length === 2, {
      what: 'two execution events',
      describe: () => typesOf(w, trigger.execution_id),
    });
    const events = w.eventsOf(trigger.execution_id);
    expect(events.map((e) => e.type)).toEqual(['ExecutionStarted', 'ExecutionSucceeded']);
    const succeeded = unionBranch(events[1]!.value.event).value as { result: string | null; attempt: number };
    expect(JSON.parse(succeeded.result ?? 'null')).toEqual({ mark: 'one' });
    expect(succeeded.attempt).toBe(1);
    const { rows } = await w.pg.pool.query(
      'SELECT attempt, finished FROM probe_runs WHERE execution_id = $1',
      [trigger.execution_id],
    );
    expect(rows).toEqual([{ attempt: 1, finished: true }]);
    const metrics = (await w.service.ops.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(
      /scheduler_task_executions_total\{[^}]*task_type="daily_report"[^}]*status="succeeded"[^}]*\} 1/,
    );
    expect(metrics).toContain('scheduler_task_duration_bucket');
  });

  it('runs the same trigger delivered twice only once', async () => {
    world = await startHandlerWorld(stack);
    const trigger = probeTrigger({ mark: 'twice' });
    await world.send(trigger);
    await world.send(trigger);
    const later = probeTrigger({ mark: 'after' }, { task_id: trigger.task_id });
    await world.send(later);
    const w = world;
    // Same key, so the later trigger comes after both copies: once it is done, both copies were seen.
    await waitFor(() => typesOf(w, later.execution_id).includes('ExecutionSucceeded'), {
      what: 'the later trigger',
    });
    expect(typesOf(w, trigger.execution_id)).toEqual(['ExecutionStarted', 'ExecutionSucceeded']);
    const { rows } = await w.pg.pool.query(
      'SELECT count(*)::int AS n FROM probe_runs WHERE execution_id = $1',
      [trigger.execution_id],
    );
    expect(rows[0]).toEqual({ n: 1 });
    expect((await w.service.ops.app.inject({ url: '/metrics' })).body).toMatch(
      /scheduler_task_duplicate_triggers_total\{[^}]*\} 1/,
    );
  });

  it('aborts an attempt at its timeout and records a TIMEOUT failure', async () => {
    world = await startHandlerWorld(stack);
    const trigger = probeTrigger({ mark: 'slow', work_ms: 30_000 }, { timeout_secs: 1 });
    const started = Date.now();
    await world.send(trigger);
    const w = world;
    await waitFor(() => typesOf(w, trigger.execution_id).includes('ExecutionDeadLettered'), {
      what: 'the timed-out execution to be dead-lettered',
      describe: () => typesOf(w, trigger.execution_id),
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    const events = w.eventsOf(trigger.execution_id);
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'ExecutionFailed',
      'ExecutionDeadLettered',
    ]);
    const failed = unionBranch(events[1]!.value.event).value as {
      error_code: string;
      retryable: boolean;
      duration_ms: number;
    };
    expect(failed).toMatchObject({ error_code: 'TIMEOUT', retryable: true });
    expect(failed.duration_ms).toBeGreaterThanOrEqual(900);
    expect(failed.duration_ms).toBeLessThan(10_000);
    const { rows } = await w.pg.pool.query('SELECT finished FROM probe_runs WHERE execution_id = $1', [
      trigger.execution_id,
    ]);
    expect(rows).toEqual([{ finished: false }]);
  });

  it('skips retries for a non-retryable error and dead-letters the trigger with its code', async () => {
    world = await startHandlerWorld(stack);
    const trigger = probeTrigger(
      { mark: 'broken', fail_until_attempt: 9, fail_code: 'NON_RETRYABLE_FAILURE' },
      { max_retries: 3 },
    );
    await world.send(trigger);
    const w = world;
    const dlq = await collectTopics(w.kafka.kafka, [`${w.env.HANDLER_TRIGGER_TOPIC}.dlq`]);
    try {
      const [letter] = await dlq.waitForCount(1);
      expect(letter?.headers[DLQ_HEADERS.errorCode]).toBe('NON_RETRYABLE_FAILURE');
      expect(contracts.codec('TaskTrigger').decode(letter!.bytes!).execution_id).toBe(trigger.execution_id);
      await waitFor(() => typesOf(w, trigger.execution_id).includes('ExecutionDeadLettered'), {
        what: 'dead letter',
      });
      expect(typesOf(w, trigger.execution_id)).toEqual([
        'ExecutionStarted',
        'ExecutionFailed',
        'ExecutionDeadLettered',
      ]);
      const deadLettered = unionBranch(w.eventsOf(trigger.execution_id)[2]!.value.event).value as {
        attempts: number;
        dead_letter_topic: string;
      };
      expect(deadLettered).toEqual(
        expect.objectContaining({ attempts: 1, dead_letter_topic: `${w.env.HANDLER_TRIGGER_TOPIC}.dlq` }),
      );
    } finally {
      await dlq.close();
    }
  });

  it('fails an execution whose payload its handler refuses, naming the field', async () => {
    world = await startHandlerWorld(stack);
    const trigger = probeTrigger({ mark: '' }, { max_retries: 3 });
    await world.send(trigger);
    const w = world;
    await waitFor(() => typesOf(w, trigger.execution_id).includes('ExecutionDeadLettered'), {
      what: 'dead letter',
    });
    const failed = unionBranch(w.eventsOf(trigger.execution_id)[1]!.value.event).value as {
      error_code: string;
      error_message: string;
      retryable: boolean;
    };
    expect(failed).toMatchObject({ error_code: 'VALIDATION_FAILED', retryable: false });
    expect(failed.error_message).toContain('payload.mark');
  });
});
