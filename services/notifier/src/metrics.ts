import { METRIC_PREFIX } from '@openpenpal/service-kit';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

type Outcome = 'delivered' | 'failed' | 'retry_scheduled' | 'deferred' | 'duplicate' | 'rejected';

export interface NotifierMetrics {
  count(type: string, channel: string, outcome: Outcome, n?: number): void;
  /** Request-to-delivery time of one delivery. */
  latency(channel: string, seconds: number): void;
  breaker(key: string, state: 'closed' | 'open' | 'half_open'): void;
}

const STATE_VALUE = { closed: 0, open: 1, half_open: 2 } as const;

export function createNotifierMetrics(registry: Registry): NotifierMetrics {
  const notifications = new Counter({
    name: `${METRIC_PREFIX}notifications_total`,
    help: 'Notification outcomes per type and channel',
    labelNames: ['type', 'channel', 'outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: `${METRIC_PREFIX}notification_delivery_seconds`,
    help: 'Time from a notification request to its delivery on a channel',
    labelNames: ['channel'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    registers: [registry],
  });
  const breakers = new Gauge({
    name: `${METRIC_PREFIX}notifier_circuit_state`,
    help: 'Circuit breaker state per channel or webhook origin: 0 closed, 1 open, 2 half-open',
    labelNames: ['breaker'],
    registers: [registry],
  });
  return {
    count: (type, channel, outcome, n = 1) => notifications.inc({ type, channel, outcome }, n),
    latency: (channel, seconds) => latency.observe({ channel }, seconds),
    breaker: (key, state) => breakers.set({ breaker: key }, STATE_VALUE[state]),
  };
}
