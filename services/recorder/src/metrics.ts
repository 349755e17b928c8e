import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Batch } from './checkpointed-subscriber.ts';
import type { IngestObserver } from './ingest/ingest.ts';
import type { ProjectionName } from './read-models/schema.ts';
import type { RelayObserver } from './relay/definition-relay.ts';

export interface RecorderMetrics {
  ingest: IngestObserver;
  relay: RelayObserver;
  projection(projection: ProjectionName, batch: Batch, durationMs: number): void;
  /** Events a projection parked. */
  parked(projection: ProjectionName, count: number): void;
  /** The projections' positions, read when /metrics is scraped. */
  watchPositions(read: () => { executions: bigint; tasks: bigint }): void;
  /** How many events each projection has parked now (the table), read when /metrics is scraped. */
  watchParked(read: () => Promise<Record<ProjectionName, number>>): void;
}

/**
 * The recorder's own Prometheus series (`scheduler_recorder_*`) in the service's registry. Messages,
 * retries, dead letters and lag are the runtime's consumer series (`scheduler_consumer_*`); these say
 * what only the recorder knows: events by type, duplicates, appends, projections and the relay.
 */
export function createRecorderMetrics(registry: Registry): RecorderMetrics {
  const registers = [registry];
  const recorded = new Counter({
    name: 'scheduler_recorder_events_recorded_total',
    help: 'Events appended to the event store, by source topic and event type.',
    labelNames: ['topic', 'type'],
    registers,
  });
  const duplicates = new Counter({
    name: 'scheduler_recorder_events_duplicate_total',
    help: 'Redelivered events found already stored and not stored again.',
    labelNames: ['topic'],
    registers,
  });
  const appendSeconds = new Histogram({
    name: 'scheduler_recorder_append_duration_seconds',
    help: 'Time of one multi-stream append (a slice of a fetched Kafka batch) to the event store.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const appendSize = new Histogram({
    name: 'scheduler_recorder_append_batch_events',
    help: 'Events per multi-stream append.',
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
    registers,
  });
  const relayed = new Counter({
    name: 'scheduler_recorder_relay_published_total',
    help: 'Messages the definition relay published: definition, tombstone, run_now.',
    labelNames: ['kind'],
    registers,
  });
  const projectionSeconds = new Histogram({
    name: 'scheduler_recorder_projection_batch_duration_seconds',
    help: 'Time to apply one batch to a read model (one transaction).',
    labelNames: ['projection'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const projectionDelay = new Gauge({
    name: 'scheduler_recorder_projection_delay_seconds',
    help: 'Projector lag: how long after it was recorded the newest event of the last batch reached the read model.',
    labelNames: ['projection'],
    registers,
  });
  const parkedTotal = new Counter({
    name: 'scheduler_recorder_parked_events_total',
    help: 'Events a projection could not apply and parked (this process), by projection.',
    labelNames: ['projection'],
    registers,
  });
  let parkedNow: () => Promise<Record<ProjectionName, number>> = () =>
    Promise.resolve({ executions: 0, tasks: 0 });
  new Gauge({
    name: 'scheduler_recorder_parked_events',
    help: 'Events parked now (in the parked_events table, whoever parked them), by projection.',
    labelNames: ['projection'],
    registers,
    async collect() {
      // A failed count leaves the last value: /metrics must not fail because PostgreSQL is away.
      const counts = await parkedNow().catch(() => undefined);
      if (counts === undefined) return;
      for (const [projection, count] of Object.entries(counts)) this.set({ projection }, count);
    },
  });
  let head = 0n;
  let positions: () => { executions: bigint; tasks: bigint } = () => ({ executions: 0n, tasks: 0n });
  new Gauge({
    name: 'scheduler_recorder_projection_position',
    help: 'Event store position up to which each read model is applied.',
    labelNames: ['projection'],
    registers,
    collect() {
      const current = positions();
      this.set({ projection: 'executions' }, Number(current.executions));
      this.set({ projection: 'tasks' }, Number(current.tasks));
    },
  });
  new Gauge({
    name: 'scheduler_recorder_projection_lag_positions',
    help: 'Projector lag in store positions: the last position this recorder appended minus the executions projection position (0 when caught up).',
    registers,
    collect() {
      const behind = head - positions().executions;
      this.set(behind > 0n ? Number(behind) : 0);
    },
  });
  return {
    ingest: {
      appended: ({ topic, types, duplicates: skipped, durationMs, events, position }) => {
        for (const [type, count] of types) recorded.inc({ topic, type }, count);
        if (skipped > 0) duplicates.inc({ topic }, skipped);
        appendSeconds.observe(durationMs / 1000);
        appendSize.observe(events);
        if (position > head) head = position;
      },
    },
    relay: { onPublished: (kind, count) => relayed.inc({ kind }, count) },
    projection: (projection, batch, durationMs) => {
      projectionSeconds.observe({ projection }, durationMs / 1000);
      const newest = batch.events.at(-1);
      if (newest)
        projectionDelay.set({ projection }, Math.max(0, Date.now() - newest.createdAt.getTime()) / 1000);
    },
    parked: (projection, count) => parkedTotal.inc({ projection }, count),
    watchPositions: (read) => {
      positions = read;
    },
    watchParked: (read) => {
      parkedNow = read;
    },
  };
}
