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
    // The outcome is counted just after its event is sent: wait for the count, do not race it.
    const counted =
      /scheduler_task_executions_total\{[^}]*task_type="daily_report"[^}]*status="succeeded"[^}]*\} 1/;
    let metrics = '';
    await waitFor(
      async () => counted.test((metrics = (await w.service.ops.app.inject({ url: '/metrics' })).body)),
      {
        what: 'the success to be counted',
      },
    );
    expect(metrics).toContain('scheduler_task_duration_bucket');
  });

  it('records TaskTriggered for an exact-time trigger, which no ticker fired, with its item and publish time', async () => {
    world = await startHandlerWorld(stack);
    const w = world;
    const sentAt = Date.now();
    const trigger = probeTrigger({ mark: 'exact' }, { source: 'delayed', business_key: 'letter-7' });
    await w.send(trigger);
    await waitFor(() => typesOf(w, trigger.execution_id).includes('ExecutionSucceeded'), { what: 'success' });
    expect(typesOf(w, trigger.execution_id)).toEqual([
      'TaskTriggered',
      'ExecutionStarted',
      'ExecutionSucceeded',
    ]);
    const triggered = unionBranch(w.eventsOf(trigger.execution_id)[0]!.value.event).value as {
      source: string;
      business_key: string;
      fire_time: number;
      trigger_topic: string;
    };
    expect(triggered).toMatchObject({
      source: 'delayed',
      business_key: 'letter-7',
      trigger_topic: w.env.HANDLER_TRIGGER_TOPIC,
    });
    expect(triggered.fire_time).toBeGreaterThanOrEqual(sentAt - 1_000);
    // A cron trigger's TaskTriggered is the ticker's: the handler adds none.
    const cron = probeTrigger({ mark: 'cron' });
    await w.send(cron);
    await waitFor(() => typesOf(w, cron.execution_id).includes('ExecutionSucceeded'), {
      what: 'cron success',
    });
    expect(typesOf(w, cron.execution_id)).toEqual(['ExecutionStarted', 'ExecutionSucceeded']);
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

  it('dead-letters a trigger with values no producer writes, naming the field, and runs nothing', async () => {
    world = await startHandlerWorld(stack);
    const w = world;
    const dlq = await collectTopics(w.kafka.kafka, [`${w.env.HANDLER_TRIGGER_TOPIC}.dlq`]);
    const bad = [
      probeTrigger({ mark: 'far' }, { nominal_time: 8.64e15, fire_time: 8.64e15 }),
      probeTrigger({ mark: 'zero' }, { timeout_secs: 0 }),
    ];
    for (const trigger of bad) await w.send(trigger);
    const letters = await dlq.waitForCount(2);
    await dlq.close();
    expect(letters.map((m) => m.headers[DLQ_HEADERS.errorCode])).toEqual([
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
    ]);
    const reasons = letters.map((m) => m.headers[DLQ_HEADERS.errorMessage]).join(' ');
    expect(reasons).toContain('nominal_time');
    expect(reasons).toContain('timeout_secs');
    for (const trigger of bad) expect(typesOf(w, trigger.execution_id)).toEqual([]);
  });

  it('renews the claim of a long attempt, so a copy of its trigger at another worker waits instead of running it again', async () => {
    world = await startHandlerWorld(stack, { env: { HANDLER_CLAIM_MS: '600' } });
    const w = world;
    const replica = await w.startReplica();
    const admin = w.kafka.kafka.admin();
    await admin.connect();
    await waitFor(
      async () => {
        const [group] = (await admin.describeGroups([w.env.KAFKA_GROUP_ID ?? ''])).groups;
        return group?.state === 'Stable' && group.members.length === 2;
      },
      { what: 'both workers in the group', timeoutMs: 30_000 },
    );
    await admin.disconnect();
    const trigger = probeTrigger({ mark: 'long', work_ms: 3_000 });
    const raw = w.kafka.kafka.producer();
    await raw.connect();
    const value = contracts.codec('TaskTrigger').encode(trigger);
    await raw.send({
      topic: w.env.HANDLER_TRIGGER_TOPIC ?? '',
      messages: [{ key: trigger.task_id, value, partition: 0 }],
    });
    await waitFor(() => typesOf(w, trigger.execution_id).includes('ExecutionStarted'), {
      what: 'the first run',
    });
    // Copies on every partition: the two workers share them, and only the claim keeps them apart.
    const copies = Array.from({ length: 5 }, (_, i) => ({ key: trigger.task_id, value, partition: i + 1 }));
    await raw.send({ topic: w.env.HANDLER_TRIGGER_TOPIC ?? '', messages: copies });
    await raw.disconnect();
    const duplicates = async () => {
      let sum = 0;
      for (const running of [w.service, replica]) {
        const text = await running.ctx.metrics.registry.getSingleMetricAsString(
          'scheduler_task_duplicate_triggers_total',
        );
        for (const line of text.split('\n')) {
          if (line.startsWith('scheduler_task_duplicate_triggers_total'))
            sum += Number(line.split(' ').at(-1));
        }
      }
      return sum;
    };
    await waitFor(async () => (await duplicates()) === 5, {
      what: 'every copy dropped as a duplicate',
      timeoutMs: 30_000,
    });
    expect(typesOf(w, trigger.execution_id)).toEqual(['ExecutionStarted', 'ExecutionSucceeded']);
  });
});

describe('handler kit retries', () => {
  let world: HandlerWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('retries a retryable failure through the delay queue at its backoff times, then dead-letters it', async () => {
    world = await startHandlerWorld(stack, { delayQueue: true });
    const trigger = probeTrigger({ mark: 'flaky', fail_until_attempt: 9 }, { max_retries: 2 });
    await world.send(trigger);
    const w = world;
    const types = () => w.eventsOf(trigger.execution_id).map((e) => e.type);
    await waitFor(() => types().includes('ExecutionDeadLettered'), {
      what: 'the execution to be dead-lettered after its retries',
      timeoutMs: 40_000,
      describe: types,
    });
    expect(types()).toEqual([
      'ExecutionStarted',
      'ExecutionFailed',
      'ExecutionRetryScheduled',
      'ExecutionStarted',
      'ExecutionFailed',
      'ExecutionRetryScheduled',
      'ExecutionStarted',
      'ExecutionFailed',
      'ExecutionDeadLettered',
    ]);
    const values = w
      .eventsOf(trigger.execution_id)
      .map((e) => unionBranch(e.value.event).value as unknown as Record<string, number>);
    // Full jitter: the n-th retry waits less than 400 ms × 2^(n−1).
    for (const [index, ceiling] of [
      [2, 400],
      [5, 800],
    ] as const) {
      const scheduled = values[index]!;
      const failedAt = values[index - 1]!.failed_at!;
      expect(scheduled.retry_at! - failedAt).toBe(scheduled.delay_ms);
      expect(scheduled.delay_ms).toBeGreaterThanOrEqual(0);
      expect(scheduled.delay_ms).toBeLessThan(ceiling);
      // The next attempt starts once the delay queue publishes it at retry_at (not before).
      const nextStarted = values[index + 1]!;
      expect(nextStarted.attempt).toBe(scheduled.next_attempt);
      expect(nextStarted.started_at!).toBeGreaterThanOrEqual(scheduled.retry_at!);
      expect(nextStarted.started_at! - scheduled.retry_at!).toBeLessThan(5_000);
    }
    expect(values[8]).toMatchObject({ attempts: 3, error_code: 'HANDLER_FAILED' });
    const { rows } = await w.pg.pool.query(
      'SELECT attempt FROM probe_runs WHERE execution_id = $1 ORDER BY attempt',
      [trigger.execution_id],
    );
    expect(rows.map((r: { attempt: number }) => r.attempt)).toEqual([1, 2, 3]);
  });

  it('runs the next attempt, not the failed one again, when the execution store cannot record the scheduled retry', async () => {
    world = await startHandlerWorld(stack, { delayQueue: true, env: { HANDLER_CLAIM_MS: '1500' } });
    // PostgreSQL refuses every settle of an attempt as retry_scheduled (as while it restarts): the
    // retry is scheduled and recorded as an event, the store row stays as the attempt claimed it.
    await world.pg.pool.query(`CREATE FUNCTION refuse_retry_settle() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'retry_scheduled' THEN RAISE EXCEPTION 'the database system is shutting down'; END IF;
        RETURN NEW;
      END $$`);
    await world.pg.pool.query(`CREATE TRIGGER refuse_retry_settle BEFORE UPDATE ON handler_executions
      FOR EACH ROW EXECUTE FUNCTION refuse_retry_settle()`);
    const trigger = probeTrigger({ mark: 'unsettled', fail_until_attempt: 1 }, { max_retries: 3 });
    await world.send(trigger);
    const w = world;
    const types = () => w.eventsOf(trigger.execution_id).map((e) => e.type);
    await waitFor(() => types().includes('ExecutionSucceeded'), {
      what: 'success on attempt 2',
      timeoutMs: 20_000,
      describe: types,
    });
    // Past the claim's expiry: a failed trigger would by now have run attempt 1 a second time.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const attempts = w
      .eventsOf(trigger.execution_id)
      .map((e) => (unionBranch(e.value.event).value as unknown as { attempt?: number }).attempt ?? 'next');
    expect(types()).toEqual([
      'ExecutionStarted',
      'ExecutionFailed',
      'ExecutionRetryScheduled',
      'ExecutionStarted',
      'ExecutionSucceeded',
    ]);
    expect(attempts).toEqual([1, 1, 'next', 2, 2]);
  });

  it("succeeds on a retry when the failure passes, the retry keyed by the trigger's item", async () => {
    world = await startHandlerWorld(stack, { delayQueue: true });
    const triggers = await collectTopics(world.kafka.kafka, [`${world.env.HANDLER_TRIGGER_TOPIC}`]);
    const trigger = probeTrigger(
      { mark: 'second-time', fail_until_attempt: 1 },
      { max_retries: 3, business_key: 'letter-42' },
    );
    await world.send(trigger);
    const w = world;
    const types = () => w.eventsOf(trigger.execution_id).map((e) => e.type);
    await waitFor(() => types().includes('ExecutionSucceeded'), {
      what: 'success on attempt 2',
      describe: types,
    });
    expect(types()).toEqual([
      'ExecutionStarted',
      'ExecutionFailed',
      'ExecutionRetryScheduled',
      'ExecutionStarted',
      'ExecutionSucceeded',
    ]);
    // The delay queue publishes the retry with the key it was given: the item, as exact-time
    // triggers are keyed, so retries of one task type do not all land on one partition.
    await waitFor(() => triggers.messages.length >= 2, { what: 'the retry on the trigger topic' });
    expect(triggers.messages.map((m) => m.key)).toEqual([trigger.task_id, 'letter-42']);
    await triggers.close();
  });
});
