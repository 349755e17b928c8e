import { randomUUID } from 'node:crypto';
import type { TaskDefinition, TaskTrigger } from './generated/types.ts';

const JAN_1_2026 = Date.UTC(2026, 0, 1);

/**
 * A valid TaskTrigger for tests and examples: a first attempt of a letter-cleanup run with a fresh
 * execution id; override what the test is about. (`@openpenpal/contracts/samples`, not the main
 * surface: services never need it.)
 */
export function sampleTrigger(overrides: Partial<TaskTrigger> = {}): TaskTrigger {
  return {
    execution_id: randomUUID(),
    task_id: 'letter-cleanup',
    task_type: 'letter_cleanup',
    task_name: 'Letter Status Cleanup',
    timezone: 'Asia/Shanghai',
    nominal_time: JAN_1_2026,
    fire_time: JAN_1_2026 + 10,
    attempt: 1,
    max_retries: 3,
    timeout_secs: 60,
    payload: '{"days_old":7}',
    source: 'cron',
    fencing_token: 1,
    ...overrides,
  };
}

/** A valid TaskDefinition for tests and examples (the seeded letter cleanup); override what matters. */
export function sampleDefinition(overrides: Partial<TaskDefinition> = {}): TaskDefinition {
  return {
    task_id: 'letter-cleanup',
    name: 'Letter Status Cleanup',
    description: null,
    task_type: 'letter_cleanup',
    priority: 'normal',
    cron_expression: '0 3 * * *',
    timezone: 'Asia/Shanghai',
    scheduled_at: null,
    payload: '{"days_old":7}',
    max_retries: 3,
    timeout_secs: 1800,
    is_active: true,
    start_date: null,
    end_date: null,
    max_runs: null,
    misfire_policy: 'fire_once',
    misfire_grace_ms: 60_000,
    misfire_fire_all_cap: 100,
    concurrency_policy: 'forbid',
    revision: 0,
    created_by: 'system',
    created_at: JAN_1_2026,
    updated_at: JAN_1_2026,
    ...overrides,
  };
}
