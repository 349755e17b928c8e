import type { ApiClient } from '../client/api.ts';
import type { Ledger } from './ledger.ts';

/**
 * The fault run's cron tasks, created through the admin API and noted in the ledger: `count` tasks
 * every second and one every 3 s, `letter_cleanup` with nothing old enough to delete (each run is
 * cheap and moves nothing), `fire_all` so that every nominal time missed during a fault fires
 * afterwards. The checker expects each nominal time from creation + settle to the load's end run once.
 */
export async function createCronTasks(api: ApiClient, ledger: Ledger, count: number): Promise<void> {
  const specs = [
    ...Array.from({ length: count }, (_, i) => ({ suffix: `1s-${i + 1}`, cron: '* * * * * *', every: 1 })),
    { suffix: '3s', cron: '*/3 * * * * *', every: 3 },
  ];
  for (const spec of specs) {
    const taskId = `${ledger.runId}-every-${spec.suffix}`;
    const createdAt = Date.now();
    await api.expect(201, 'POST', '/api/v1/scheduler/tasks', {
      body: {
        task_id: taskId,
        name: `e2e faults: every ${spec.every} s`,
        task_type: 'letter_cleanup',
        cron_expression: spec.cron,
        timezone: 'UTC',
        // Nothing is 10 years old: each run is cheap and moves nothing.
        payload: { days_old: 3650 },
        // Every nominal time must fire, also those missed while the ticker or Kafka was down.
        misfire_policy: 'fire_all',
        misfire_fire_all_cap: 10_000,
        concurrency_policy: 'allow',
        timeout_secs: 30,
      },
    });
    ledger.cronTasks.push({ taskId, cron: spec.cron, everySeconds: spec.every, createdAt });
  }
}
