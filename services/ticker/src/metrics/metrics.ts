import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { LockObserver } from '../lease/lease.ts';
import type { TickerObserver } from './observer.ts';

/** The lease's `lock` label value on the scheduler_distributed_locks_* series. */
const LEADER_LOCK = 'ticker-leader';

export interface TickerMetrics {
  observer: TickerObserver;
  lock: LockObserver;
  invalidDefinition(): void;
  undecodableDefinition(): void;
  definitionDeadLettered(): void;
}

/**
 * The ticker's Prometheus series, in the service's registry (which already holds the process
 * metrics and the consumer metrics of its executions and commands groups). The lock series carry the names the
 * platform's dashboard and alerts expect (openpenpal-domain.md §7); the rest are the ticker's own.
 */
export function createTickerMetrics(options: {
  registry: Registry;
  taskCounts: () => { active: number; inactive: number; invalid: number };
  /** Invalid definitions the leader has not yet dead-lettered (or found dead-lettered). */
  deadLettersPending: () => number;
}): TickerMetrics {
  const { registry } = options;
  const registers = [registry];
  const locksActive = new Gauge({
    name: 'scheduler_distributed_locks_active',
    help: 'Distributed locks this process holds (1 while it is the ticker leader).',
    labelNames: ['lock'],
    registers,
  });
  const locksAcquired = new Counter({
    name: 'scheduler_distributed_locks_acquired_total',
    help: 'Times this process acquired a distributed lock.',
    labelNames: ['lock'],
    registers,
  });
  const locksFailed = new Counter({
    name: 'scheduler_distributed_locks_failed_total',
    help: 'Lock acquisitions that did not win (held elsewhere) and Redis errors while acquiring or renewing.',
    labelNames: ['lock'],
    registers,
  });
  const locksTimeout = new Counter({
    name: 'scheduler_distributed_locks_timeout_total',
    help: 'Times a held lock was lost without release: renewal refused, or not renewed within its TTL minus the safety margin.',
    labelNames: ['lock'],
    registers,
  });
  const fireLag = new Histogram({
    name: 'scheduler_ticker_fire_lag_seconds',
    help: 'Actual minus nominal fire time, measured when Kafka acknowledged the trigger.',
    labelNames: ['task_type', 'source'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const fired = new Counter({
    name: 'scheduler_ticker_fired_total',
    help: 'Triggers acknowledged by Kafka.',
    labelNames: ['task_type', 'source'],
    registers,
  });
  const misfireFired = new Counter({
    name: 'scheduler_ticker_misfire_fired_total',
    help: "Triggers acknowledged later than their task's misfire grace: times the misfire policy fired after downtime or a pause (not in the fire lag).",
    labelNames: ['task_type'],
    registers,
  });
  const missed = new Counter({
    name: 'scheduler_ticker_missed_total',
    help: 'Nominal fire times recorded as TaskMissed.',
    labelNames: ['reason'],
    registers,
  });
  const skipped = new Counter({
    name: 'scheduler_ticker_skipped_total',
    help: 'Executions not triggered and recorded as ExecutionSkipped.',
    labelNames: ['reason'],
    registers,
  });
  const leader = new Gauge({
    name: 'scheduler_ticker_leader',
    help: '1 while this replica is the ticker leader, else 0.',
    registers,
  });
  const paused = new Gauge({
    name: 'scheduler_ticker_paused',
    help: '1 while the ticker is paused (known to the leader only).',
    registers,
  });
  const commands = new Counter({
    name: 'scheduler_ticker_commands_total',
    help: 'Operator commands handled.',
    labelNames: ['command', 'outcome'],
    registers,
  });
  const invalid = new Counter({
    name: 'scheduler_ticker_invalid_definitions_total',
    help: 'Task definitions rejected by validation (the task does not fire).',
    registers,
  });
  const undecodable = new Counter({
    name: 'scheduler_ticker_undecodable_definitions_total',
    help: 'Definition records that could not be decoded, counted once per record and start (skipped, not dead-lettered).',
    registers,
  });
  const deadLettered = new Counter({
    name: 'scheduler_ticker_definition_dead_letters_total',
    help: 'Invalid definitions this replica dead-lettered as leader (once per record across restarts).',
    registers,
  });
  new Gauge({
    name: 'scheduler_ticker_definition_dead_letters_pending',
    help: 'Invalid definitions the leader has not dead-lettered yet (stays above 0 while DLQ writes fail).',
    registers,
    collect() {
      this.set(options.deadLettersPending());
    },
  });
  const failures = new Counter({
    name: 'scheduler_ticker_batch_failures_total',
    help: 'Fire batches that failed and were retried.',
    registers,
  });
  new Gauge({
    name: 'scheduler_ticker_tasks',
    help: 'Task definitions in the table, by state.',
    labelNames: ['state'],
    registers,
    collect() {
      const counts = options.taskCounts();
      this.set({ state: 'active' }, counts.active);
      this.set({ state: 'inactive' }, counts.inactive);
      this.set({ state: 'invalid' }, counts.invalid);
    },
  });
  leader.set(0);
  locksActive.set({ lock: LEADER_LOCK }, 0);
  const lockLabel = { lock: LEADER_LOCK };
  const lagChildren = new Map<string, ReturnType<typeof fireLag.labels>>();

  return {
    observer: {
      acknowledged: (fires, ackAt) => {
        // Label lookups cost more than the observations; a batch has few distinct label sets.
        const counts = new Map<string, number>();
        for (const fire of fires) {
          const key = `${fire.taskType}\u0000${fire.source}`;
          let child = lagChildren.get(key);
          if (!child) {
            child = fireLag.labels(fire.taskType, fire.source);
            lagChildren.set(key, child);
          }
          const lagMs = Math.max(0, ackAt - fire.nominal);
          if (lagMs > fire.graceMs) misfireFired.inc({ task_type: fire.taskType });
          else child.observe(lagMs / 1000);
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        for (const [key, count] of counts) {
          const [taskType = '', source = ''] = key.split('\u0000');
          fired.inc({ task_type: taskType, source }, count);
        }
      },
      missed: (reason, count) => missed.inc({ reason }, count),
      skipped: (reason, count) => skipped.inc({ reason }, count),
      leader: (isLeader) => leader.set(isLeader ? 1 : 0),
      paused: (isPaused) => paused.set(isPaused ? 1 : 0),
      command: (command, outcome) => commands.inc({ command, outcome }),
      batchFailed: () => failures.inc(),
    },
    lock: {
      acquired: () => locksAcquired.inc(lockLabel),
      failed: () => locksFailed.inc(lockLabel),
      timedOut: () => locksTimeout.inc(lockLabel),
      active: (held) => locksActive.set(lockLabel, held ? 1 : 0),
    },
    invalidDefinition: () => invalid.inc(),
    undecodableDefinition: () => undecodable.inc(),
    definitionDeadLettered: () => deadLettered.inc(),
  };
}
