import type { ConsumerObserver } from '@openpenpal/messaging';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric name of the scheduler starts with this (the platform's dashboards expect it). */
export const METRIC_PREFIX = 'scheduler_';

export interface ServiceMetrics {
  registry: Registry;
  /** Feeds the consumer metrics of one consumer group. */
  consumerObserver(groupId: string): ConsumerObserver;
  /** Sets `scheduler_consumer_running{group}` (1 while the group consumes, 0 after it stopped). */
  consumerRunning(groupId: string, running: boolean): void;
}

/**
 * One registry per process, labelled with the service name, holding the process metrics of
 * prom-client and the consumer metrics every service shares: messages by outcome, retries, dead
 * letters (and failed dead-letter writes, an alert), processing time and lag.
 */
export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const messages = new Counter({
    name: `${METRIC_PREFIX}consumer_messages_total`,
    help: 'Messages done with, by outcome (processed or dead_lettered).',
    labelNames: ['group', 'topic', 'outcome'],
    registers: [registry],
  });
  const retries = new Counter({
    name: `${METRIC_PREFIX}consumer_retries_total`,
    help: 'Failed tries that will be tried again; blocking="true" while a dependency is down.',
    labelNames: ['group', 'topic', 'code', 'blocking'],
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: `${METRIC_PREFIX}consumer_dead_letters_total`,
    help: 'Messages sent to their dead-letter topic, by error code.',
    labelNames: ['group', 'topic', 'code'],
    registers: [registry],
  });
  const deadLetterFailures = new Counter({
    name: `${METRIC_PREFIX}consumer_dead_letter_failures_total`,
    help: 'Dead-letter writes that failed; the partition holds until one succeeds. Alert when it grows.',
    labelNames: ['group', 'topic', 'code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}consumer_processing_seconds`,
    help: 'Time from the first try of a message to its outcome, retries included.',
    labelNames: ['group', 'topic', 'outcome'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const lag = new Gauge({
    name: `${METRIC_PREFIX}consumer_lag`,
    help: 'Messages behind the end of the partition after the last fetched batch.',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
  });
  const running = new Gauge({
    name: `${METRIC_PREFIX}consumer_running`,
    help: '1 while the consumer group runs in this process, 0 once it stopped.',
    labelNames: ['group'],
    registers: [registry],
  });
  return {
    registry,
    consumerObserver: (group) => ({
      onMessage: ({ topic, outcome, durationMs, errorCode }) => {
        messages.inc({ group, topic, outcome });
        duration.observe({ group, topic, outcome }, durationMs / 1000);
        if (outcome === 'dead_lettered') deadLetters.inc({ group, topic, code: errorCode ?? 'unknown' });
      },
      onRetry: ({ topic, errorCode, blocking }) =>
        retries.inc({ group, topic, code: errorCode, blocking: String(blocking) }),
      onDeadLetterFailed: ({ topic, errorCode }) => deadLetterFailures.inc({ group, topic, code: errorCode }),
      onLag: ({ topic, partition, lag: behind }) =>
        lag.set({ group, topic, partition: String(partition) }, behind),
    }),
    consumerRunning: (group, is) => running.set({ group }, is ? 1 : 0),
  };
}
