import type { DelayClient, ScheduleInput } from '@openpenpal/delay-client';
import { describe, expect, it } from 'vitest';
import { scheduleCheck, type CheckTriggerSpec } from '../src/check/schedule.ts';

const SPEC: CheckTriggerSpec = {
  triggers: { topic: 'scheduler.trigger.courier-timeout-check', schema: 'TaskTrigger' },
  taskId: 'courier_timeout_check',
  maxRetries: 3,
  timeoutSecs: 60,
  timeoutHours: 48,
  reassignAfterReminders: 2,
};

function recordingDelay(): { delay: DelayClient; scheduled: ScheduleInput<'TaskTrigger'>[] } {
  const scheduled: ScheduleInput<'TaskTrigger'>[] = [];
  const delay: DelayClient = {
    schedule: (input) => {
      scheduled.push(input as unknown as ScheduleInput<'TaskTrigger'>);
      return Promise.resolve({ requestId: 'r', messageId: input.messageId });
    },
    cancel: () => Promise.reject(new Error('not expected')),
  };
  return { delay, scheduled };
}

describe('scheduling the exact-time check of a courier task', () => {
  it('keys the trigger by the courier task, so the checks of many tasks spread over the partitions and the replicas', async () => {
    const { delay, scheduled } = recordingDelay();
    const due = new Date(Date.UTC(2026, 11, 4, 8, 0, 0));
    await scheduleCheck(delay, SPEC, 'ctask-1', due);
    await scheduleCheck(delay, SPEC, 'ctask-2', due);
    // Keyed by the seeded task id, every check went to one partition: one replica did them all,
    // one at a time (the cluster fault run's courier checks ran up to 79 s late).
    expect(scheduled.map((s) => s.target.key)).toEqual(['ctask-1', 'ctask-2']);
    expect(scheduled[0]?.target.value).toMatchObject({
      task_id: 'courier_timeout_check',
      business_key: 'ctask-1',
      nominal_time: due.getTime(),
    });
    expect(scheduled[0]?.messageId).toBe(`courier_timeout_check:ctask-1:${due.getTime()}`);
  });
});
