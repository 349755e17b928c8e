import { randomUUID } from 'node:crypto';
import { waitFor } from '@openpenpal/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { useSystem, type ExecutionView } from '../src/context.ts';

const { api } = useSystem();
const taskId = `e2e-every-2s-${randomUUID().slice(0, 8)}`;

const executions = async () =>
  (
    await api.expect<{ executions: ExecutionView[] }>(
      200,
      'GET',
      `/api/v1/scheduler/executions?task_id=${taskId}&limit=100`,
    )
  ).executions;
const status = () =>
  api.expect<{ paused: boolean; leader: unknown }>(200, 'GET', '/api/admin/scheduler/status');

afterAll(async () => {
  // Never leave the shared scheduler paused, nor the task firing.
  await api.request('POST', '/api/admin/scheduler/resume', { body: { reason: 'e2e cleanup' } });
  await api.request('DELETE', `/api/v1/scheduler/tasks/${taskId}?reason=e2e%20done`);
});

describe('pause and resume', () => {
  it('stop cron firings while paused and start them again on resume', async () => {
    await api.expect(201, 'POST', '/api/v1/scheduler/tasks', {
      body: {
        task_id: taskId,
        name: 'e2e: every two seconds',
        task_type: 'letter_cleanup',
        cron_expression: '*/2 * * * * *',
        timezone: 'UTC',
        payload: { days_old: 3650 },
        misfire_policy: 'skip',
        timeout_secs: 30,
      },
    });
    await waitFor(async () => (await executions()).filter((e) => e.status === 'succeeded').length >= 2, {
      what: `two cron runs of ${taskId}`,
      timeoutMs: 60_000,
      intervalMs: 500,
    });

    const paused = await api.expect<{ accepted: boolean; id: string }>(
      202,
      'POST',
      '/api/admin/scheduler/pause',
      {
        body: { reason: 'e2e' },
      },
    );
    expect(paused.accepted).toBe(true);
    await waitFor(async () => (await status()).paused, {
      what: 'the ticker to apply the pause',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    // What fired just before the pause settles, then nothing fires for 6 s (three nominal times).
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const quietFrom = Date.now();
    const before = (await executions()).length;
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect((await executions()).length).toBe(before);

    const quietTo = Date.now();
    await api.expect(202, 'POST', '/api/admin/scheduler/resume', { body: { reason: 'e2e' } });
    await waitFor(async () => !(await status()).paused, {
      what: 'the ticker to apply the resume',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    await waitFor(
      async () => (await executions()).filter((e) => e.status === 'succeeded').length >= before + 2,
      {
        what: `cron runs of ${taskId} after the resume`,
        timeoutMs: 30_000,
        intervalMs: 500,
      },
    );
    // With misfire `skip`, the times missed while paused are never fired, not even after the resume.
    const missed = (await executions()).filter((e) => {
      const nominal = e.nominal_time === null ? Number.NaN : Date.parse(e.nominal_time);
      return nominal >= quietFrom && nominal < quietTo;
    });
    expect(missed).toEqual([]);
  });
});
