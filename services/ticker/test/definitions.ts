import type { TaskDefinition } from '@openpenpal/contracts';

/** When the test definitions were created: any instant the shared rules accept. */
const CREATED = Date.parse('2026-01-01T00:00:00Z');

/** A valid definition with the domain defaults; tests override what they exercise. */
export function definition(taskId: string, overrides: Partial<TaskDefinition> = {}): TaskDefinition {
  return {
    task_id: taskId,
    name: `task ${taskId}`,
    description: null,
    task_type: 'letter_cleanup',
    priority: 'normal',
    cron_expression: '* * * * * *',
    timezone: 'UTC',
    scheduled_at: null,
    payload: '{"days_old":7}',
    max_retries: 3,
    timeout_secs: 60,
    is_active: true,
    start_date: null,
    end_date: null,
    max_runs: null,
    misfire_policy: 'fire_once',
    misfire_grace_ms: 60_000,
    misfire_fire_all_cap: 100,
    concurrency_policy: 'allow',
    revision: 0,
    created_by: 'test',
    created_at: CREATED,
    updated_at: CREATED,
    ...overrides,
  };
}
