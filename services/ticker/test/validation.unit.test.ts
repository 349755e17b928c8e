import type { TaskCommand, TaskDefinition } from '@openpenpal/contracts';
import { isSchedulerError } from '@openpenpal/errors';
import { describe, expect, it } from 'vitest';
import { compileDefinition } from '../src/definitions/task-spec.ts';
import { at, createHarness, definition, TOPIC_PREFIX } from './support.ts';

function refusal(fn: () => unknown): { fields: string[]; message: string; taskId: unknown } {
  try {
    fn();
  } catch (error) {
    if (!isSchedulerError(error) || error.code !== 'VALIDATION_FAILED') throw error;
    const problems = error.details.problems as { field: string }[];
    return { fields: problems.map((p) => p.field), message: error.message, taskId: error.details.task_id };
  }
  throw new Error('expected VALIDATION_FAILED');
}

const START = at('2026-03-01T10:00:30Z');

describe('the ticker accepts what the admin API accepts, nothing else', () => {
  it.each<[string, Partial<TaskDefinition>, string]>([
    ['a one-shot time before 2000', { cron_expression: null, scheduled_at: -1e15 }, 'scheduled_at'],
    ['a one-shot time after 2100', { cron_expression: null, scheduled_at: 8.7e15 }, 'scheduled_at'],
    ['a start date before 2000', { start_date: -1e15 }, 'start_date'],
    ['an end date after 2100', { end_date: 8.7e15 }, 'end_date'],
    ['a negative timeout', { timeout_secs: -5 }, 'timeout_secs'],
    ['a zero timeout', { timeout_secs: 0 }, 'timeout_secs'],
    ['negative retries', { max_retries: -1 }, 'max_retries'],
    ['more retries than the API allows', { max_retries: 101 }, 'max_retries'],
    ['a negative revision', { revision: -1 }, 'revision'],
    ['an empty task id', { task_id: '' }, 'task_id'],
    ['a task id with a control character', { task_id: 'a\u0000b' }, 'task_id'],
    ['an empty name', { name: '' }, 'name'],
    ['an unknown task type', { task_type: 'unknown' }, 'task_type'],
    ['a payload that is not an object', { payload: '[1]' }, 'payload'],
    ['a creation time at the epoch', { created_at: 0 }, 'created_at'],
  ])('refuses %s, naming the field', (_, override, field) => {
    const def = definition('t', override);
    const result = refusal(() => compileDefinition(def, TOPIC_PREFIX));
    expect(result.fields).toEqual([field]);
    expect(result.taskId).toBe(def.task_id);
    expect(result.message).toContain(field);
  });

  it('fires nothing and records nothing for a definition whose times its consumers cannot store', async () => {
    const h = createHarness({ start: START });
    h.define(definition('ancient', { cron_expression: null, scheduled_at: -1e15 }));
    h.define(definition('negative', { cron_expression: '* * * * *', timeout_secs: -5 }));
    h.scheduler.setDefinition('unrevised', { ...definition('unrevised'), revision: -1, updated_at: START });
    h.define(definition('fine', { cron_expression: '* * * * *' }));
    await h.lead();
    await h.clock.advanceTo(at('2026-03-01T10:02:30Z'));
    expect(new Set(h.triggers.map((t) => t.task_id))).toEqual(new Set(['fine']));
    expect(new Set(h.kafka.events.map((e) => e.task_id))).toEqual(new Set(['fine']));
  });

  it.each<[string, Partial<TaskCommand>, string]>([
    ['requested before 2000', { requested_at: -1e15 }, 'requested_at'],
    ['requested after 2100', { requested_at: 8.7e15 }, 'requested_at'],
    ['without a command id', { command_id: '' }, 'command_id'],
    ['without a task', { task_id: null }, 'task_id'],
    ['with a payload override that is not an object', { payload_override: '[1]' }, 'payload_override'],
  ])('refuses a run_now %s, naming the field, and fires nothing', async (_, override, field) => {
    const h = createHarness({ start: START });
    h.define(definition('daily', { cron_expression: '0 3 * * *' }));
    await h.lead();
    const command: TaskCommand = {
      command_id: '00000000-0000-4000-8000-000000000001',
      command: 'run_now',
      task_id: 'daily',
      requested_by: 'admin-1',
      requested_at: START,
      reason: null,
      payload_override: null,
      ...override,
    };
    await expect(h.scheduler.command(command)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field },
    });
    await h.clock.advanceBy(0);
    expect(h.triggers).toEqual([]);
    expect(h.kafka.events).toEqual([]);
  });
});
