import type { ExecutionEvent } from '@openpenpal/contracts';
import type { Clock } from '@openpenpal/timing';
import type { FirePublisher, ReadTrigger } from '../src/kafka/publisher.ts';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  fencedOut,
  type InflightMarker,
  type PauseState,
  type TickerStore,
} from '../src/store/store.ts';

/** The ticker store in memory, with the same fencing and running-slot rules as the Lua scripts. */
export function createMemoryStore() {
  const checkpoints = new Map<string, string>();
  const running = new Map<string, string>();
  const finished = new Map<string, string>();
  const done = new Set<string>();
  const deadLetters = new Map<string, string>();
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
    deadLetteredDefinitions: () => Promise.resolve(new Map(deadLetters)),
    recordDeadLetteredDefinitions: (fence, dead, forget) => {
      fenced(fence);
      for (const [taskId, record] of dead) deadLetters.set(taskId, record);
      for (const taskId of forget) deadLetters.delete(taskId);
      return Promise.resolve();
    },
  };
  return { store, state, checkpoints, running, deadLetters };
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
    prepareEvents: (list) => ({ send: () => publisher.sendEvents(list) }),
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
