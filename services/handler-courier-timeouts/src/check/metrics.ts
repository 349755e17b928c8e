import { Counter, type Registry } from 'prom-client';

export type CheckMetrics = Counter<'outcome'>;

/** Courier task checks by what they did (reminded, reassigned, escalated, not_due, not_active, not_found). */
export function createCheckMetrics(registry: Registry): CheckMetrics {
  return new Counter({
    name: 'scheduler_courier_timeout_checks_total',
    help: 'Courier task checks by outcome: reminded, reassigned, escalated (no eligible courier), not_due, not_active (delivered, failed...), not_found.',
    labelNames: ['outcome'],
    registers: [registry],
  });
}
