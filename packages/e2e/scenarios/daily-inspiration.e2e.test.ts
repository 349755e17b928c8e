import { randomUUID } from 'node:crypto';
import { waitFor } from '@openpenpal/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  executionHistory,
  resultOf,
  useSystem,
  waitForExecution,
  type ExecutionView,
} from '../src/context.ts';

const { api, info, kafka, platform } = useSystem();

/** Zones no demo user lives in, one hour apart: a scenario picks one whose prompt of today is not chosen yet. */
const ZONES = Array.from({ length: 27 }, (_, i) => i - 14)
  .filter((offset) => offset !== 0)
  .map((offset) => `Etc/GMT${offset > 0 ? '+' : '-'}${Math.abs(offset)}`);

const localClock = (zone: string, at = Date.now()) => {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    date: `${part('year')}-${part('month')}-${part('day')}`,
    time: `${part('hour')}:${part('minute')}`,
  };
};

/** A zone whose prompt for its local day nobody chose yet (so this run's trigger asks the provider). */
async function freshZone(taken: Set<string>): Promise<string> {
  for (const zone of ZONES.sort(() => Math.random() - 0.5)) {
    if (taken.has(zone)) continue;
    // Read-only look at the handler's table, as a checker: has a prompt been chosen for today there?
    const stored = await platform.rows(
      'SELECT 1 FROM openpenpal.scheduler_inspiration_prompts WHERE timezone = $1 AND local_date = $2::date',
      [zone, localClock(zone).date],
    );
    // Too close to the local midnight, the day could change under the scenario.
    if (stored.length === 0 && localClock(zone, Date.now() + 10 * 60_000).date === localClock(zone).date) {
      taken.add(zone);
      return zone;
    }
  }
  throw new Error('every candidate zone has a prompt for today already');
}

const provider = async (mode: 'ok' | 'hang') => {
  const response = await fetch(`${info.inspirationProviderUrl}/control`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mode }),
  });
  expect(response.status).toBe(200);
};

const inbox = async (userId: string) =>
  platform.rows<{ type: string; data: Record<string, unknown> }>(
    'SELECT type, data FROM openpenpal.notifications WHERE user_id = $1',
    [userId],
  );

const taken = new Set<string>();
const created: string[] = [];
afterAll(async () => {
  await provider('ok');
  for (const taskId of created)
    await api.request('DELETE', `/api/v1/scheduler/tasks/${taskId}?reason=e2e%20done`);
});

describe('the daily inspiration', () => {
  it('sends an opted-in user the provider prompt of their local day, once', async () => {
    const zone = await freshZone(taken);
    const user = await platform.createUser({ timezone: zone, inspiration: true });
    await api.expect(202, 'POST', '/api/v1/scheduler/tasks/writing_inspiration_push/execute', {
      body: { reason: 'e2e', payload_override: { local_time: localClock(zone).time, window_minutes: 15 } },
    });
    await waitFor(async () => (await inbox(user)).length > 0, {
      what: `the inspiration of ${user}`,
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const [notification] = await inbox(user);
    expect(notification?.type).toBe('daily_inspiration');
    const execution = await waitForExecution(
      api,
      'task_id=writing_inspiration_push&limit=50',
      (e) =>
        e.status === 'succeeded' &&
        (resultOf(e).zones as { timezone: string }[] | undefined)?.some((z) => z.timezone === zone) === true,
      { what: `the inspiration run that served ${zone}` },
    );
    expect(
      (resultOf(execution).zones as { timezone: string; source: string }[]).find((z) => z.timezone === zone),
    ).toMatchObject({
      source: 'provider',
    });

    // Run again: at most one per user and local day.
    await api.expect(202, 'POST', '/api/v1/scheduler/tasks/writing_inspiration_push/execute', {
      body: {
        reason: 'e2e again',
        payload_override: { local_time: localClock(zone).time, window_minutes: 15 },
      },
    });
    await waitForExecution(
      api,
      'task_id=writing_inspiration_push&limit=50',
      (e) => e.status === 'succeeded' && e.execution_id !== execution.execution_id && resultOf(e).sent === 0,
      { what: 'the second inspiration run' },
    );
    expect(await inbox(user)).toHaveLength(1);
  });

  it('retries an execution that times out, dead-letters it, and runs it again from the API once fixed', async () => {
    const zone = await freshZone(taken);
    const user = await platform.createUser({ timezone: zone, inspiration: true });
    const taskId = `e2e-inspiration-${randomUUID().slice(0, 8)}`;
    created.push(taskId);
    // Its own task: two retries, a 2-second timeout, a schedule far away (only run-now fires it).
    await api.expect(201, 'POST', '/api/v1/scheduler/tasks', {
      body: {
        task_id: taskId,
        name: 'e2e inspiration with a hanging provider',
        task_type: 'writing_inspiration_push',
        cron_expression: '0 0 1 1 *',
        timezone: 'UTC',
        payload: { local_time: localClock(zone).time, window_minutes: 15 },
        max_retries: 2,
        timeout_secs: 2,
      },
    });
    const dlq = await kafka.watch(['scheduler.trigger.writing-inspiration-push.dlq']);
    await provider('hang');
    await api.expect(202, 'POST', `/api/v1/scheduler/tasks/${taskId}/execute`, {
      body: { reason: 'e2e: provider hangs' },
    });

    const failed = await waitForExecution(
      api,
      `task_id=${taskId}&limit=10`,
      (e) => e.status === 'dead_lettered',
      {
        what: `the dead-lettered execution of ${taskId}`,
        timeoutMs: 60_000,
      },
    );
    expect(failed).toMatchObject({ attempts: 3, error_code: 'TIMEOUT' });
    const history = await executionHistory(api, failed.execution_id);
    const types = history.events.map((e) => e.type);
    expect(types.filter((t) => t === 'ExecutionFailed')).toHaveLength(3);
    expect(types.filter((t) => t === 'ExecutionRetryScheduled')).toHaveLength(2);
    expect(types.at(-1)).toBe('ExecutionDeadLettered');
    const [dead] = await dlq.waitFor(
      (m) => m.headers['dlq.error.code'] === 'TIMEOUT' && m.headers['dlq.attempts'] === '3',
      {
        what: 'the trigger on the dead-letter topic',
      },
    );
    expect(dead).toBeDefined();
    expect(await inbox(user)).toHaveLength(0);

    // The provider is back; the operator re-runs the dead-lettered execution.
    await provider('ok');
    const rerun = await api.expect<{ execution_id: string; original_execution_id: string; attempt: number }>(
      202,
      'POST',
      `/api/v1/scheduler/executions/${failed.execution_id}/rerun`,
      { body: { reason: 'provider back' }, headers: { 'idempotency-key': `rerun-${failed.execution_id}` } },
    );
    expect(rerun).toMatchObject({ original_execution_id: failed.execution_id, attempt: 4 });
    const again: ExecutionView = await waitForExecution(
      api,
      `task_id=${taskId}&limit=10`,
      (e) => e.execution_id === rerun.execution_id && e.status === 'succeeded',
      { what: `the re-run ${rerun.execution_id}` },
    );
    expect(again).toMatchObject({ source: 'replay', original_execution_id: failed.execution_id });
    expect(resultOf(again).sent).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await inbox(user)).length === 1, {
      what: `the inspiration of ${user}`,
      timeoutMs: 30_000,
    });
    const original = await executionHistory(api, failed.execution_id);
    expect(original.execution.replayed_as).toBe(rerun.execution_id);
    // The same Idempotency-Key re-runs once.
    const repeat = await api.expect<{ execution_id: string }>(
      202,
      'POST',
      `/api/v1/scheduler/executions/${failed.execution_id}/rerun`,
      {
        body: { reason: 'provider back' },
        headers: { 'idempotency-key': `rerun-${failed.execution_id}` },
      },
    );
    expect(repeat.execution_id).toBe(rerun.execution_id);
  });
});
