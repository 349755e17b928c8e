import type { TaskTrigger } from '@openpenpal/contracts';
import { METRIC_PREFIX } from '@openpenpal/service-kit';
import { Counter, Histogram, type Registry } from 'prom-client';

type ExecutionMetricStatus = 'succeeded' | 'skipped' | 'failed' | 'retry_scheduled' | 'dead_lettered';

export interface HandlerMetrics {
  finished(trigger: TaskTrigger, status: ExecutionMetricStatus, durationMs: number): void;
  duplicate(trigger: TaskTrigger): void;
}

/**
 * The execution metrics the platform's dashboard reads (domain facts §7):
 * `scheduler_task_executions_total{task_type,task_name,status}` counts attempts by how they ended
 * (`failed` for every failed attempt, then `retry_scheduled` or `dead_lettered` for what followed),
 * and `scheduler_task_duration` is the attempts' run time in milliseconds.
 */
export function createHandlerMetrics(registry: Registry): HandlerMetrics {
  const executions = new Counter({
    name: `${METRIC_PREFIX}task_executions_total`,
    help: 'Task execution attempts by how they ended.',
    labelNames: ['task_type', 'task_name', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}task_duration`,
    help: 'How long task execution attempts ran, in milliseconds.',
    labelNames: ['task_type', 'task_name', 'status'],
    buckets: [10, 50, 100, 500, 1_000, 5_000, 30_000, 60_000, 300_000, 900_000],
    registers: [registry],
  });
  const duplicates = new Counter({
    name: `${METRIC_PREFIX}task_duplicate_triggers_total`,
    help: 'Triggers dropped because their attempt already ran (redelivery, a duplicate firing).',
    labelNames: ['task_type'],
    registers: [registry],
  });
  return {
    finished: (trigger, status, durationMs) => {
      const labels = { task_type: trigger.task_type, task_name: trigger.task_name, status };
      executions.inc(labels);
      if (status !== 'retry_scheduled' && status !== 'dead_lettered') duration.observe(labels, durationMs);
    },
    duplicate: (trigger) => duplicates.inc({ task_type: trigger.task_type }),
  };
}
