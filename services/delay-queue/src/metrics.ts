import { METRIC_PREFIX } from '@openpenpal/service-kit';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DelayStore } from './store/index.ts';

/** What the gauges read: the whole store's counts (a sharded store sums its shards). */
type Counted = Pick<DelayStore, 'stats'>;

export interface DelayQueueMetrics {
  requests: Counter<'kind' | 'outcome'>;
  rejected: Counter<'code'>;
  dispatched: Counter<'topic'>;
  lateness: Histogram;
  redelivered: Counter;
  publishFailures: Counter;
  undispatchable: Counter<'code'>;
  eventsDropped: Counter;
  redisErrors: Counter<'operation'>;
  deferred: Counter;
}

/**
 * The service's Prometheus metrics. `pending` and `in_flight` are read from Redis when scraped
 * (two ZCARDs), so every replica reports the shared totals; a scrape while Redis is down keeps
 * the last values and the readiness check says why.
 */
export function createMetrics(registry: Registry, store: Counted): DelayQueueMetrics {
  let last = { pending: 0, inFlight: 0 };
  const refresh = async (): Promise<void> => {
    try {
      last = await store.stats();
    } catch {
      // Keep the previous reading; /readyz reports the outage.
    }
  };
  new Gauge({
    name: `${METRIC_PREFIX}delay_queue_pending`,
    help: 'Delayed messages waiting for their due time (all replicas)',
    registers: [registry],
    async collect() {
      await refresh();
      this.set(last.pending);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}delay_queue_in_flight`,
    help: 'Delayed messages claimed by a dispatcher and not yet acknowledged (all replicas)',
    registers: [registry],
    collect() {
      // The pending gauge's collect ran first and read both numbers.
      this.set(last.inFlight);
    },
  });
  return {
    requests: new Counter({
      name: `${METRIC_PREFIX}delay_queue_requests_total`,
      help: 'Requests taken from the requests topic, by kind (schedule, cancel) and store outcome',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: `${METRIC_PREFIX}delay_queue_rejected_total`,
      help: 'Requests rejected as invalid, and due messages their target never took, dead-lettered, by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
    dispatched: new Counter({
      name: `${METRIC_PREFIX}delay_queue_dispatched_total`,
      help: 'Delayed messages published to their target topic and acknowledged by Kafka',
      labelNames: ['topic'],
      registers: [registry],
    }),
    lateness: new Histogram({
      name: `${METRIC_PREFIX}delay_queue_dispatch_lateness_seconds`,
      help: 'Kafka acknowledgement time minus due time of dispatched messages',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    redelivered: new Counter({
      name: `${METRIC_PREFIX}delay_queue_redelivered_total`,
      help: 'Items claimed again after an earlier claim expired (a dispatcher crashed or stalled)',
      registers: [registry],
    }),
    publishFailures: new Counter({
      name: `${METRIC_PREFIX}delay_queue_publish_failures_total`,
      help: 'Due messages whose publish failed and whose claim was released for a later try',
      registers: [registry],
    }),
    undispatchable: new Counter({
      name: `${METRIC_PREFIX}delay_queue_undispatchable_total`,
      help: 'Claimed items this replica could not read; left for their claim to expire',
      labelNames: ['code'],
      registers: [registry],
    }),
    eventsDropped: new Counter({
      name: `${METRIC_PREFIX}delay_queue_dispatch_events_dropped_total`,
      help: 'DelayedMessageDispatched events given up on after Kafka kept refusing them',
      registers: [registry],
    }),
    deferred: new Counter({
      name: `${METRIC_PREFIX}delay_queue_deferred_total`,
      help: 'Due messages held back because their target topic does not exist or is failing (tried again later)',
      registers: [registry],
    }),
    redisErrors: new Counter({
      name: `${METRIC_PREFIX}delay_queue_redis_errors_total`,
      help: 'Failed Redis calls of the dispatcher and the intake, by operation',
      labelNames: ['operation'],
      registers: [registry],
    }),
  };
}
