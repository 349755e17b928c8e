import {
  unionBranch,
  type ExecutionEvent,
  type TaskDefinition,
  type TaskTrigger,
} from '@openpenpal/contracts';
import { createManualClock, type ManualClock } from '@openpenpal/test-kit';
import { pino } from 'pino';
import { createTaskBook } from '../src/definitions/task-book.ts';
import { createScheduler, type Scheduler } from '../src/firing/scheduler.ts';
import type { ReadTrigger } from '../src/kafka/publisher.ts';
import type { Leadership } from '../src/lease/lease.ts';
import { noopObserver, type TickerObserver } from '../src/metrics/observer.ts';
import { createMemoryPublisher, createMemoryStore } from './memory.ts';

export const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export const TOPIC_PREFIX = 'scheduler.trigger.';

export { definition } from './definitions.ts';

/** An ISO UTC string as epoch ms, so tests state every instant readably. */
export function at(iso: string): number {
  const value = Date.parse(iso);
  if (!iso.endsWith('Z') || Number.isNaN(value)) throw new Error(`not an ISO UTC instant: ${iso}`);
  return value;
}

export const iso = (ms: number): string => new Date(ms).toISOString();

type EventKind = 'TaskTriggered' | 'TaskMissed' | 'ExecutionSkipped';
type Wrapped = ExecutionEvent['event'];
type EventValue<K extends EventKind> = Extract<
  Wrapped,
  Record<`org.openpenpal.scheduler.${K}`, unknown>
>[`org.openpenpal.scheduler.${K}`];

/** The events of one kind, by their short branch name, with the branch's value. */
export function eventsOf<K extends EventKind>(
  events: readonly ExecutionEvent[],
  kind: K,
): { event: ExecutionEvent; value: EventValue<K> }[] {
  const name = `org.openpenpal.scheduler.${kind}`;
  return events.flatMap((event) => {
    const wrapped = event.event as Record<string, unknown>;
    return name in wrapped ? [{ event, value: wrapped[name] as EventValue<K> }] : [];
  });
}

export function missedOf(events: readonly ExecutionEvent[]) {
  return events.flatMap((event) => {
    const branch = unionBranch(event.event);
    return branch.name === 'org.openpenpal.scheduler.TaskMissed'
      ? [{ taskId: event.task_id, nominal: iso(branch.value.nominal_time), reason: branch.value.reason }]
      : [];
  });
}

export function firesOf(triggers: readonly ReadTrigger[], taskId?: string): string[] {
  return triggers
    .filter((t) => taskId === undefined || t.trigger.task_id === taskId)
    .map((t) => iso(t.trigger.nominal_time));
}

export interface Harness {
  clock: ManualClock;
  scheduler: Scheduler;
  memory: ReturnType<typeof createMemoryStore>;
  kafka: ReturnType<typeof createMemoryPublisher>;
  /** The term this harness's scheduler leads under, and whether the lease still counts as valid. */
  lease: { term: Leadership | undefined; valid: boolean };
  define(def: TaskDefinition): void;
  remove(taskId: string): void;
  /** Makes this scheduler the leader under a new token (the store sees the new lease value). */
  lead(token?: number): Promise<void>;
  triggers: TaskTrigger[];
}

/**
 * One scheduler over an in-memory store and publisher. Several harnesses may share the store,
 * publisher and clock to act as replicas.
 */
export function createHarness(options: {
  start: number;
  clock?: ManualClock;
  memory?: ReturnType<typeof createMemoryStore>;
  kafka?: ReturnType<typeof createMemoryPublisher>;
  observer?: TickerObserver;
  forbidSlackMs?: number;
  prepareAheadMs?: number;
  runNowMaxAgeMs?: number;
}): Harness {
  const clock = options.clock ?? createManualClock(options.start);
  const memory = options.memory ?? createMemoryStore();
  const kafka = options.kafka ?? createMemoryPublisher(clock);
  const lease: Harness['lease'] = { term: undefined, valid: false };
  const book = createTaskBook({ topicPrefix: TOPIC_PREFIX, logger });
  const scheduler = createScheduler({
    book,
    store: memory.store,
    publisher: kafka.publisher,
    clock,
    logger,
    observer: options.observer ?? noopObserver,
    currentTerm: () => (lease.valid ? lease.term : undefined),
    worker: 'test-worker',
    forbidSlackMs: options.forbidSlackMs ?? 60_000,
    retryBackoffMs: 500,
    reconcileLookbackMs: 5_000,
    prepareAheadMs: options.prepareAheadMs ?? 100,
    runNowMaxAgeMs: options.runNowMaxAgeMs ?? 3_600_000,
  });
  const revisions = new Map<string, number>();
  return {
    clock,
    scheduler,
    memory,
    kafka,
    lease,
    define: (def) => {
      const revision = (revisions.get(def.task_id) ?? -1) + 1;
      revisions.set(def.task_id, revision);
      scheduler.setDefinition(def.task_id, { ...def, revision, updated_at: clock.now() });
    },
    remove: (taskId) => scheduler.setDefinition(taskId, null),
    lead: async (token = 1) => {
      const term = { token, value: `test:${token}` };
      memory.state.lease = term.value;
      lease.term = term;
      lease.valid = true;
      scheduler.lead(term);
      await clock.advanceBy(0);
    },
    get triggers() {
      return kafka.triggers.map((t) => t.trigger);
    },
  };
}
