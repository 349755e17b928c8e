import { randomUUID } from 'node:crypto';
import type { ExecutionEvent } from '@openpenpal/contracts';
import { createProducer, type Producer } from '@openpenpal/messaging';
import { collectTopics, waitFor } from '@openpenpal/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signEvent } from '../src/commands/signatures.ts';
import {
  ADMIN,
  bearer,
  SERVICE_KEY,
  SIGNING_SECRET,
  contracts,
  createApiWorld,
  logger,
  taskId,
  type ApiWorld,
} from './world.ts';

const stack = inject('stack');
const BASE = '/api/v1/scheduler';

interface ExecutionItem {
  execution_id: string;
  task_id: string;
  status: string;
  attempts: number;
  source: string | null;
  original_execution_id: string | null;
}

describe('admin API flows on the running scheduler (recorder, ticker, delay queue)', () => {
  let world: ApiWorld;
  let app: ApiWorld['api']['ops']['app'];
  let producer: Producer;
  beforeAll(async () => {
    world = await createApiWorld(stack, { ticker: true, delayQueue: true });
    app = world.api.ops.app;
    producer = createProducer({ kafka: world.kafka.kafka, contracts, logger });
    await producer.connect();
  });
  afterAll(async () => {
    await producer.close();
    await world.close();
  });

  const executionsOf = async (id: string): Promise<ExecutionItem[]> =>
    (await app.inject({ url: `${BASE}/tasks/${id}/executions?limit=100`, headers: ADMIN })).json<{
      executions: ExecutionItem[];
    }>().executions;
  const status = async () =>
    (await app.inject({ url: '/api/admin/scheduler/status', headers: ADMIN })).json<{
      paused: boolean;
      leader: { instance: string } | null;
      task_count: number;
      next_runs: { task_id: string }[];
      lag_ms: number;
    }>();

  let firingTask = '';

  it('creates a task that the ticker fires; its execution appears with its history from the event store', async () => {
    firingTask = taskId('fires');
    const created = await app.inject({
      method: 'POST',
      url: `${BASE}/tasks`,
      headers: ADMIN,
      payload: {
        task_id: firingTask,
        name: 'every two seconds',
        task_type: 'letter_cleanup',
        cron_expression: '*/2 * * * * *',
        timezone: 'UTC',
        payload: { days_old: 7 },
        misfire_policy: 'skip',
        concurrency_policy: 'allow',
      },
    });
    expect(created.statusCode).toBe(201);
    let executions: ExecutionItem[] = [];
    await waitFor(async () => (executions = await executionsOf(firingTask)).length > 0, {
      what: 'an execution of the new task',
      timeoutMs: 40_000,
    });
    const first = executions[0]!;
    expect(first).toMatchObject({ task_id: firingTask, status: 'triggered', source: 'cron' });
    const detail = await app.inject({ url: `${BASE}/executions/${first.execution_id}`, headers: ADMIN });
    expect(detail.statusCode).toBe(200);
    const body = detail.json<{
      execution: ExecutionItem;
      events: { type: string; metadata: { topic?: string } }[];
    }>();
    expect(body.execution.execution_id).toBe(first.execution_id);
    expect(body.events.map((e) => e.type)).toContain('TaskTriggered');
    const list = await app.inject({ url: `${BASE}/tasks?task_type=letter_cleanup`, headers: ADMIN });
    expect(list.json<{ tasks: { id: string }[] }>().tasks.map((t) => t.id)).toContain(firingTask);
    const state = await status();
    expect(state.leader).not.toBeNull();
    expect(state.task_count).toBeGreaterThanOrEqual(1);
    expect(state.next_runs.map((r) => r.task_id)).toContain(firingTask);
  });

  it('pauses: nothing fires; resumes: it fires again', async () => {
    const paused = await app.inject({
      method: 'POST',
      url: '/api/admin/scheduler/pause',
      headers: ADMIN,
      payload: { reason: 'test' },
    });
    expect(paused.statusCode).toBe(202);
    await waitFor(async () => (await status()).paused, { what: 'the ticker paused', timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const before = (await executionsOf(firingTask)).length;
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect((await executionsOf(firingTask)).length).toBe(before);
    const resumed = await app.inject({ method: 'POST', url: '/api/admin/scheduler/resume', headers: ADMIN });
    expect(resumed.statusCode).toBe(202);
    await waitFor(async () => !(await status()).paused, { what: 'the ticker resumed', timeoutMs: 20_000 });
    await waitFor(async () => (await executionsOf(firingTask)).length > before, {
      what: 'a firing after resume',
      timeoutMs: 20_000,
    });
  });

  it('re-runs a failed execution as a new execution linked to it, and refuses one that did not fail', async () => {
    const [target] = await executionsOf(firingTask);
    expect(target).toBeDefined();
    const notFailed = await app.inject({
      method: 'POST',
      url: `${BASE}/executions/${target!.execution_id}/rerun`,
      headers: ADMIN,
    });
    expect(notFailed.statusCode).toBe(409);
    const now = Date.now();
    const event = (value: ExecutionEvent['event']): ExecutionEvent => ({
      event_id: randomUUID(),
      execution_id: target!.execution_id,
      task_id: firingTask,
      task_type: 'letter_cleanup',
      occurred_at: now,
      worker: 'test-handler',
      event: value,
    });
    await producer.send({ topic: world.kafka.topics.executions!, schema: 'ExecutionEvent' }, [
      {
        key: target!.execution_id,
        value: event({ 'org.openpenpal.scheduler.ExecutionStarted': { attempt: 1, started_at: now } }),
      },
      {
        key: target!.execution_id,
        value: event({
          'org.openpenpal.scheduler.ExecutionFailed': {
            attempt: 1,
            failed_at: now + 5,
            duration_ms: 5,
            error_code: 'NON_RETRYABLE_FAILURE',
            error_message: 'test failure',
            retryable: false,
          },
        }),
      },
    ]);
    await waitFor(
      async () =>
        (await app.inject({ url: `${BASE}/executions/${target!.execution_id}`, headers: ADMIN })).json<{
          execution: ExecutionItem;
        }>().execution.status === 'failed',
      { what: 'the execution recorded as failed' },
    );
    const rerun = await app.inject({
      method: 'POST',
      url: `${BASE}/executions/${target!.execution_id}/rerun`,
      headers: { ...ADMIN, 'idempotency-key': `rerun-${target!.execution_id}` },
      payload: { reason: 'fixed the data' },
    });
    expect(rerun.statusCode).toBe(202);
    const result = rerun.json<{ execution_id: string; attempt: number; trigger_topic: string }>();
    expect(result).toMatchObject({ attempt: 2, trigger_topic: world.triggerTopic('letter_cleanup') });
    let replayed: ExecutionItem | undefined;
    await waitFor(
      async () => {
        const response = await app.inject({
          url: `${BASE}/executions/${result.execution_id}`,
          headers: ADMIN,
        });
        if (response.statusCode !== 200) return false;
        replayed = response.json<{ execution: ExecutionItem }>().execution;
        return true;
      },
      { what: 'the re-run execution recorded' },
    );
    expect(replayed).toMatchObject({ source: 'replay', original_execution_id: target!.execution_id });
    // Lists come from the recorder's read model, which follows the store a moment later.
    const failedIds = async () =>
      (await app.inject({ url: `${BASE}/executions?status=failed&task_id=${firingTask}`, headers: ADMIN }))
        .json<{ executions: ExecutionItem[] }>()
        .executions.map((e) => e.execution_id);
    await waitFor(async () => (await failedIds()).includes(target!.execution_id), {
      what: 'the failed execution in the list',
      intervalMs: 200,
    });
  });

  it('pages executions with a cursor, newest first, without repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = (
        await app.inject({ url: `${BASE}/executions?task_id=${firingTask}&limit=2${query}`, headers: ADMIN })
      ).json<{
        executions: ExecutionItem[];
        next_cursor: string | null;
      }>();
      seen.push(...page.executions.map((e) => e.execution_id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual((await executionsOf(firingTask)).map((e) => e.execution_id).sort());
  });

  it('schedules a delayed message for a service, lists it by topic, and cancels it', async () => {
    const messageId = `api-test:${randomUUID()}`;
    const scheduled = await app.inject({
      method: 'POST',
      url: `${BASE}/delayed-messages`,
      headers: { 'x-api-key': SERVICE_KEY },
      payload: {
        message_id: messageId,
        due_at: Date.now() + 3_600_000,
        target_topic: 'openpenpal.letters.future-letters',
        key: 'letter-9',
        value: {
          eventId: randomUUID(),
          occurredAt: Date.now(),
          event: {
            'org.openpenpal.platform.FutureLetterScheduled': {
              letterId: 'letter-9',
              scheduledAt: Date.now() + 7_200_000,
              timezone: null,
            },
          },
        },
      },
    });
    expect(scheduled.statusCode).toBe(202);
    const listed = async () =>
      (await app.inject({ url: `${BASE}/delayed-messages?limit=100`, headers: ADMIN })).json<{
        messages: { message_id: string; target_topic: string; state: string }[];
      }>().messages;
    await waitFor(async () => (await listed()).some((m) => m.message_id === messageId), {
      what: 'the delayed message stored',
    });
    expect((await listed()).find((m) => m.message_id === messageId)).toMatchObject({
      target_topic: 'openpenpal.letters.future-letters',
      state: 'pending',
    });
    const stats = await app.inject({ url: `${BASE}/delayed-messages/stats`, headers: ADMIN });
    expect(stats.json()).toMatchObject({
      by_topic: { 'openpenpal.letters.future-letters': 1 },
      complete: true,
    });
    const cancelled = await app.inject({
      method: 'DELETE',
      url: `${BASE}/delayed-messages/${encodeURIComponent(messageId)}`,
      headers: ADMIN,
    });
    expect(cancelled.statusCode).toBe(202);
    await waitFor(async () => !(await listed()).some((m) => m.message_id === messageId), {
      what: 'the delayed message cancelled',
    });
    const again = await app.inject({
      method: 'DELETE',
      url: `${BASE}/delayed-messages/${encodeURIComponent(messageId)}`,
      headers: ADMIN,
    });
    expect(again.statusCode).toBe(404);
  });

  it('runs a task for a signed event once, and rejects a replay, a bad signature and an old timestamp', async () => {
    const metric = async (name: string) => {
      const text = (await app.inject({ url: '/metrics' })).body;
      return text
        .split('\n')
        .filter((line) => line.startsWith(name))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    };
    const body = JSON.stringify({ event_id: randomUUID(), task_id: firingTask, reason: 'contest closed' });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const send = (headers: Record<string, string>, payload = body) =>
      app.inject({
        method: 'POST',
        url: `${BASE}/events/trigger`,
        headers: { 'content-type': 'application/json', ...headers },
        payload,
      });
    const signed = {
      'x-signature-timestamp': timestamp,
      'x-signature': signEvent(SIGNING_SECRET, timestamp, body),
    };
    const failuresBefore = await metric('scheduler_event_signature_failures_total');
    const first = await send(signed);
    expect(first.statusCode).toBe(202);
    const replay = await send(signed);
    expect(replay.statusCode).toBe(409);
    expect(replay.json()).toMatchObject({ code: 'CONFLICT', details: { reason: 'replay' } });
    expect(await metric('scheduler_event_replay_attempts_total')).toBe(1);
    const tampered = await send(signed, body.replace('contest closed', 'contest opened'));
    expect(tampered.statusCode).toBe(401);
    const old = String(Math.floor(Date.now() / 1000) - 301);
    const expired = await send({
      'x-signature-timestamp': old,
      'x-signature': signEvent(SIGNING_SECRET, old, body),
    });
    expect(expired.json()).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'expired' } });
    expect((await send({})).statusCode).toBe(401);
    expect(await metric('scheduler_event_signature_failures_total')).toBe(failuresBefore + 3);
    const history = await app.inject({ url: `${BASE}/tasks/${firingTask}/history`, headers: ADMIN });
    const runs = history
      .json<{ events: { type: string }[] }>()
      .events.filter((e) => e.type === 'TaskRunRequested');
    expect(runs).toHaveLength(1);
  });

  it('maps each inbound HTTP request to the Kafka event the platform would produce', async () => {
    const topics = world.kafka.topics;
    const collector = await collectTopics(world.kafka.kafka, [topics.letters!, topics.ai!, topics.courier!]);
    try {
      const post = (url: string, payload: object) =>
        app.inject({
          method: 'POST',
          url: `${BASE}/inbound/${url}`,
          headers: { 'x-api-key': SERVICE_KEY },
          payload,
        });
      const eventId = randomUUID();
      expect(
        (
          await post('future-letters', {
            event_id: eventId,
            letter_id: 'l-1',
            scheduled_at: '2027-01-01T09:00:00+08:00',
            timezone: 'Asia/Shanghai',
          })
        ).statusCode,
      ).toBe(202);
      expect(
        (
          await post('ai-replies', {
            letter_id: 'l-2',
            user_id: 'u-2',
            persona: 'poet',
            timezone: 'Asia/Shanghai',
            delay: { preset: 'tomorrow_morning' },
          })
        ).statusCode,
      ).toBe(202);
      expect(
        (await post('courier-tasks/ct-1/accepted', { courier_id: 'c-1', accepted_at: Date.now() }))
          .statusCode,
      ).toBe(202);
      expect((await post('courier-tasks/ct-1/delivered', {})).statusCode).toBe(202);
      const bad = await post('ai-replies', {
        letter_id: 'l-2',
        user_id: 'u-2',
        persona: 'robot',
        timezone: 'Asia/Shanghai',
        delay: { preset: 'soon' },
      });
      expect(bad.statusCode).toBe(400);
      await collector.waitForCount(4, { timeoutMs: 20_000 });
      const letter = contracts.codec('FutureLetterEvent').decode(collector.on(topics.letters!)[0]!.value!);
      expect(letter).toMatchObject({
        eventId,
        event: {
          'org.openpenpal.platform.FutureLetterScheduled': {
            letterId: 'l-1',
            scheduledAt: Date.parse('2027-01-01T01:00:00Z'),
          },
        },
      });
      expect(collector.on(topics.letters!)[0]!.key).toBe('l-1');
      const ai = contracts.codec('AiReplyRequested').decode(collector.on(topics.ai!)[0]!.value!);
      expect(ai).toMatchObject({
        userId: 'u-2',
        persona: 'poet',
        delay: { 'org.openpenpal.platform.AiReplyDelayPreset': { preset: 'tomorrow_morning' } },
      });
      const courier = collector
        .on(topics.courier!)
        .map((m) => contracts.codec('CourierTaskEvent').decode(m.value!));
      expect(courier.map((c) => Object.keys(c.event)[0])).toEqual([
        'org.openpenpal.platform.CourierTaskAccepted',
        'org.openpenpal.platform.CourierTaskDelivered',
      ]);
    } finally {
      await collector.close();
    }
  });

  it('re-publishes recorded events only to topics of their schema, and serves stats, jobs and logs', async () => {
    const [execution] = await executionsOf(firingTask);
    const republished = await app.inject({
      method: 'POST',
      url: `${BASE}/executions/${execution!.execution_id}/republish`,
      headers: ADMIN,
    });
    expect(republished.statusCode).toBe(200);
    expect(republished.json()).toMatchObject({ topic: world.kafka.topics.executions });
    expect(republished.json<{ published: number }>().published).toBeGreaterThanOrEqual(1);
    const wrongTopic = await app.inject({
      method: 'POST',
      url: `${BASE}/executions/${execution!.execution_id}/republish`,
      headers: ADMIN,
      payload: { topic: 'openpenpal.letters.future-letters' },
    });
    expect(wrongTopic.statusCode).toBe(400);
    const definitions = await app.inject({
      method: 'POST',
      url: `${BASE}/tasks/${firingTask}/republish`,
      headers: ADMIN,
    });
    expect(definitions.json()).toMatchObject({ topic: world.kafka.topics.definitions });
    const stats = await app.inject({ url: `${BASE}/stats`, headers: bearer('courier_level3') });
    expect(stats.statusCode).toBe(200);
    expect(stats.json<{ total_tasks: number }>().total_tasks).toBeGreaterThanOrEqual(1);
    const jobs = await app.inject({
      url: '/api/admin/scheduler/jobs?task_type=letter_cleanup',
      headers: ADMIN,
    });
    expect(jobs.json<{ tasks: { id: string }[] }>().tasks.map((t) => t.id)).toContain(firingTask);
    const logs = await app.inject({
      url: `/api/admin/scheduler/jobs/${firingTask}/logs?limit=5`,
      headers: ADMIN,
    });
    const body = logs.json<{ executions: unknown[]; history: { type: string }[] }>();
    expect(body.executions.length).toBeGreaterThanOrEqual(1);
    expect(body.history[0]?.type).toBe('TaskCreated');
  });

  it('defines the platform default tasks once', async () => {
    const first = await app.inject({ method: 'POST', url: `${BASE}/tasks/defaults`, headers: ADMIN });
    const outcomes = first.json<{ results: { task_id: string; outcome: string }[] }>().results;
    expect(outcomes.map((r) => r.task_id).sort()).toEqual([
      'ai_penpal_reply',
      'courier_timeout_check',
      'future_letter_unlock',
      'letter_cleanup',
      'writing_inspiration_push',
    ]);
    expect(new Set(outcomes.map((r) => r.outcome))).toEqual(new Set(['created']));
    const second = await app.inject({ method: 'POST', url: `${BASE}/tasks/defaults`, headers: ADMIN });
    expect(new Set(second.json<{ results: { outcome: string }[] }>().results.map((r) => r.outcome))).toEqual(
      new Set(['exists']),
    );
  });

  it('deletes a task: it leaves the list and stops firing', async () => {
    const deleted = await app.inject({
      method: 'DELETE',
      url: `${BASE}/tasks/${firingTask}?reason=done`,
      headers: ADMIN,
    });
    expect(deleted.statusCode).toBe(200);
    await waitFor(
      async () =>
        !(await app.inject({ url: `${BASE}/tasks?page_size=100`, headers: ADMIN }))
          .json<{ tasks: { id: string }[] }>()
          .tasks.some((t) => t.id === firingTask),
      { what: 'the task gone from the list' },
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const settled = (await executionsOf(firingTask)).length;
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect((await executionsOf(firingTask)).length).toBe(settled);
  });
});
