import { randomUUID } from 'node:crypto';
import type { CourierTaskTimeoutEvent } from '@openpenpal/contracts';
import { waitFor } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import { resultOf, useSystem, waitForExecution } from '../src/context.ts';

const { api, kafka, platform } = useSystem();
const HOUR = 60 * 60 * 1000;

describe('a courier task', () => {
  it('is checked at acceptedAt + 48 h: its courier reminded once and the timeout announced', async () => {
    const { courierId, userId } = await platform.createCourier({ zone: `E2E${randomUUID().slice(0, 6)}` });
    // Accepted 48 h minus 6 s ago: its check is due in 6 seconds.
    const acceptedAt = new Date(Date.now() - 48 * HOUR + 6_000);
    const taskId = await platform.createCourierTask({
      courierId,
      acceptedAt,
      deadline: new Date(acceptedAt.getTime() + 48 * HOUR),
    });
    const timeouts = await kafka.watch(['openpenpal.courier.task-timeouts']);
    await kafka.send('openpenpal.courier.task-events', 'CourierTaskEvent', [
      {
        key: taskId,
        value: {
          eventId: randomUUID(),
          occurredAt: acceptedAt.getTime(),
          event: {
            'org.openpenpal.platform.CourierTaskAccepted': {
              taskId,
              courierId,
              acceptedAt: acceptedAt.getTime(),
            },
          },
        },
      },
    ]);

    const [event] = await timeouts.waitFor((m) => m.key === taskId, {
      what: `CourierTaskTimeoutEvent for ${taskId}`,
    });
    const value = event?.value as CourierTaskTimeoutEvent;
    expect(Object.keys(value.event)).toEqual(['org.openpenpal.platform.CourierTaskTimedOut']);
    expect(event?.timestamp).toBeGreaterThanOrEqual(acceptedAt.getTime() + 48 * HOUR);

    const task = await platform.row<{
      timeout_count: number;
      last_timeout_notice_at: Date | null;
      courier_id: string;
    }>(
      'SELECT timeout_count, last_timeout_notice_at, courier_id FROM openpenpal.courier_tasks WHERE id = $1',
      [taskId],
    );
    expect(task).toMatchObject({ timeout_count: 1, courier_id: courierId });
    expect(task?.last_timeout_notice_at).not.toBeNull();
    await waitFor(
      async () =>
        (
          await platform.rows('SELECT 1 FROM openpenpal.notifications WHERE user_id = $1 AND type = $2', [
            userId,
            'courier_timeout_reminder',
          ])
        ).length === 1,
      { what: `the reminder to courier ${courierId}`, timeoutMs: 30_000, intervalMs: 200 },
    );
    const execution = await waitForExecution(
      api,
      'task_id=courier_timeout_check&limit=100',
      (e) => e.status === 'succeeded' && resultOf(e).task_id === taskId,
      { what: `the check execution of ${taskId}` },
    );
    expect(resultOf(execution).outcome).toBe('reminded');
  });
});
