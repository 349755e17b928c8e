import {
  unionBranch,
  type ExecutionEvent,
  type TaskDefinition,
  type TaskTrigger,
} from '@openpenpal/contracts';
import { pino } from 'pino';
import type { Clock } from '../src/clock.ts';
import type { Leadership } from '../src/lease.ts';
import { noopObserver, type TickerObserver } from '../src/observer.ts';
import type { FirePublisher, ReadTrigger } from '../src/publisher.ts';
import { createScheduler, type Scheduler } from '../src/scheduler.ts';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  fencedOut,
  type InflightMarker,
  type PauseState,
  type TickerStore,
} from '../src/store.ts';
import { createTaskBook } from '../src/task-book.ts';

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

/** Lets every promise chain and setImmediate turn the loop started run to its next wait. */
export async function settle(turns = 30): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

export interface ManualClock extends Clock {
  /** Moves time forward wake-up by wake-up, letting the code run at each one, up to `target`. */
  advanceTo(target: number): Promise<void>;
  advanceBy(ms: number): Promise<void>;
}

export function createManualClock(start: number): ManualClock {
  let now = start;
  const sleepers = new Set<{ at: number; resolve: () => void }>();
  const wakeDue = () => {
    for (const sleeper of [...sleepers]) {
      if (sleeper.at <= now) {
        sleepers.delete(sleeper);
        sleeper.resolve();
      }
    }
  };
  const clock: ManualClock = {
    now: () => now,
    sleepUntil: (until, signal) => {
      if (until <= now || signal?.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const sleeper = { at: until, resolve };
        sleepers.add(sleeper);
        signal?.addEventListener(
          'abort',
          () => {
            sleepers.delete(sleeper);
            resolve();
          },
          { once: true },
        );
      });
    },
    advanceTo: async (target) => {
      await settle();
      for (;;) {
        const next = Math.min(...[...sleepers].map((s) => s.at));
        if (!Number.isFinite(next) || next > target) break;
        now = Math.max(now, next);
        wakeDue();
        await settle();
      }
      now = Math.max(now, target);
      wakeDue();
      await settle();
    },
    advanceBy: (ms) => clock.advanceTo(now + ms),
  };
  return clock;
}

/** The ticker store in memory, with the same fencing and running-slot rules as the Lua scripts. */
export function createMemoryStore() {
  const checkpoints = new Map<string, string>();
  const running = new Map<string, string>();
  const finished = new Map<string, string>();
  const done = new Set<string>();
  const state = {
    lease: undefined as string | undefined,
    inflight: undefined as InflightMarker | undefined,
    pause: undefined as PauseState | undefined,
    commits: 0,
    /** Makes the next n calls of an operation fail with a Redis-like error. */
    failures: { begin: 0, commit: 0 },
  };
  const fenced = (fence: string) => {
    if (state.lease !== fence) throw fencedOut();
  };
  const failing = (op: 'begin' | 'commit') => {
    if (state.failures[op] > 0) {
      state.failures[op] -= 1;
      throw new Error(`injected ${op} failure`);
    }
  };
  const store: TickerStore = {
    load: () =>
      Promise.resolve({
        checkpoints: new Map(
          [...checkpoints].flatMap(([id, text]) => {
            const cp = decodeCheckpoint(text);
            return cp ? [[id, cp] as const] : [];
          }),
        ),
        inflight: state.inflight,
        pause: state.pause ?? { paused: false },
      }),
    begin: (fence, now, marker, claims) => {
      failing('begin');
      fenced(fence);
      state.inflight = marker;
      const refused = new Map<string, string>();
      for (const { taskId, executionId } of claims) {
        const current = running.get(taskId);
        if (!current) continue;
        const [holder = '', deadline = '0'] = current.split('|');
        if (holder !== executionId && Number(deadline) > now) refused.set(taskId, holder);
      }
      return Promise.resolve(refused);
    },
    commit: (fence, _now, request) => {
      failing('commit');
      fenced(fence);
      for (const [id, cp] of request.checkpoints) checkpoints.set(id, encodeCheckpoint(cp));
      for (const id of request.deletes) {
        checkpoints.delete(id);
        running.delete(id);
        finished.delete(id);
      }
      for (const mark of request.running) {
        if (finished.get(mark.taskId) === mark.executionId) finished.delete(mark.taskId);
        else running.set(mark.taskId, `${mark.executionId}|${mark.deadline}`);
      }
      for (const id of request.doneExecutions) done.add(id);
      if (request.clearInflight) state.inflight = undefined;
      state.commits += 1;
      return Promise.resolve();
    },
    setPause: (fence, pause) => {
      fenced(fence);
      state.pause = pause;
      return Promise.resolve();
    },
    doneExecutions: (ids) => Promise.resolve(new Set(ids.filter((id) => done.has(id)))),
    finishRunning: (taskId, executionId) => {
      if (running.get(taskId)?.startsWith(`${executionId}|`)) {
        running.delete(taskId);
        return Promise.resolve(true);
      }
      finished.set(taskId, executionId);
      return Promise.resolve(false);
    },
  };
  return { store, state, checkpoints, running };
}

/** Kafka in memory: what was sent, in order, and failures to inject per operation. */
export function createMemoryPublisher(clock?: Clock) {
  const triggers: ReadTrigger[] = [];
  const events: ExecutionEvent[] = [];
  /** When each send call went out, on the harness clock. */
  const sentAt: number[] = [];
  /** One entry per send call: the topics it carried and how many triggers each. */
  const requests: { topic: string; count: number }[][] = [];
  const failures = { sendTriggers: 0, sendEvents: 0 };
  /** Runs after triggers were "acknowledged" (a crash right after Kafka, say). */
  const hooks: { afterTriggers?: () => void } = {};
  const publisher: FirePublisher = {
    prepareTriggers: (groups) => ({
      send: () => {
        if (failures.sendTriggers > 0) {
          failures.sendTriggers -= 1;
          return Promise.reject(new Error('injected trigger send failure'));
        }
        requests.push([...groups].map(([topic, list]) => ({ topic, count: list.length })));
        sentAt.push(clock?.now() ?? 0);
        for (const [topic, list] of groups) for (const trigger of list) triggers.push({ topic, trigger });
        hooks.afterTriggers?.();
        return Promise.resolve();
      },
    }),
    sendEvents: (list) => {
      if (failures.sendEvents > 0) {
        failures.sendEvents -= 1;
        return Promise.reject(new Error('injected event send failure'));
      }
      events.push(...list);
      return Promise.resolve();
    },
    readTriggers: (topics, since) =>
      Promise.resolve(triggers.filter((t) => topics.includes(t.topic) && t.trigger.fire_time >= since)),
  };
  return { publisher, triggers, events, requests, sentAt, failures, hooks };
}

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
      await settle();
    },
    get triggers() {
      return kafka.triggers.map((t) => t.trigger);
    },
  };
}
