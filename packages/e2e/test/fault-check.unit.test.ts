import { describe, expect, it } from 'vitest';
import {
  check,
  expectedNominals,
  recoveredAt,
  type Evidence,
  type ExecutionRow,
} from '../src/faults/check.ts';
import { createLedger, type Item, type Ledger } from '../src/faults/ledger.ts';

const T0 = Date.UTC(2026, 11, 2, 12, 0, 0);
const OPTIONS = { onTimeMs: 1_000, cronSettleMs: 10_000 };

function emptyEvidence(): Evidence {
  return {
    delayed: [],
    released: [],
    aiDelivered: [],
    courierTimedOut: [],
    firstTriggers: new Map(),
    executions: [],
    succeededEvents: new Map(),
    letters: new Map(),
    aiReplies: new Map(),
    courierTasks: new Map(),
    inbox: new Map(),
    topicEventIds: new Map(),
    storeEventIds: new Map(),
    deliveredPerChannel: new Map(),
    rejections: new Map(),
  };
}

function item(kind: Item['kind'], id: string, dueAt: number, userId: string | null = null): Item {
  return { kind, id, userId, offeredAt: dueAt - 4_000, dueAt, acceptedAt: dueAt - 3_900 };
}

/** A ledger with one item of each kind and a cron task every 3 s, stopped 30 s after its creation. */
function world(): { ledger: Ledger; evidence: Evidence } {
  const ledger = createLedger('r1');
  ledger.loadStartedAt = T0;
  ledger.loadStoppedAt = T0 + 30_000;
  ledger.cronTasks.push({ taskId: 'cron-3s', cron: '*/3 * * * * *', everySeconds: 3, createdAt: T0 });
  ledger.items.push(
    item('future_letter', 'letter-1', T0 + 5_000, 'reader-1'),
    item('ai_reply', 'letter-2', T0 + 6_000, 'user-2'),
    item('courier_check', 'ctask-3', T0 + 7_000, 'courier-3'),
    item('delayed', 'r1-d-3', T0 + 8_000),
  );
  const evidence = emptyEvidence();
  evidence.released.push({ key: 'letter-1', messageId: 'm1', timestamp: T0 + 5_200 });
  evidence.aiDelivered.push({ key: 'user-2', messageId: 'm2', timestamp: T0 + 6_300 });
  evidence.courierTimedOut.push({ key: 'ctask-3', messageId: 'm3', timestamp: T0 + 7_100 });
  evidence.delayed.push({ key: 'r1-d-3', messageId: 'r1-d-3', timestamp: T0 + 8_050 });
  evidence.letters.set('letter-1', { status: 'published', publishedAt: T0 + 5_150 });
  evidence.aiReplies.set('letter-2', [{ id: 'reply-2', status: 'sent' }]);
  evidence.courierTasks.set('ctask-3', { timeoutCount: 1 });
  evidence.inbox.set('reader-1 future_letter_unlocked', 1);
  evidence.inbox.set('user-2 ai_reply_received', 1);
  evidence.inbox.set('courier-3 courier_timeout_reminder', 1);
  const exec = (id: string, key: string | null, nominal: number, taskId = 'x'): ExecutionRow => ({
    executionId: id,
    taskId,
    status: 'succeeded',
    nominalTime: nominal,
    startedAt: nominal + 40,
    businessKey: key,
  });
  evidence.executions.push(
    exec('e1', 'letter-1', T0 + 5_000),
    exec('e2', 'reply-2', T0 + 6_000),
    exec('e3', 'ctask-3', T0 + 7_000),
  );
  for (const nominal of expectedNominals(ledger.cronTasks[0]!, ledger.loadStoppedAt, 10_000)) {
    evidence.executions.push(exec(`c${nominal}`, null, nominal, 'cron-3s'));
  }
  evidence.topicEventIds.set('ev-1', 2);
  evidence.storeEventIds.set('ev-1', 1);
  return { ledger, evidence };
}

describe('the fault run checker', () => {
  it('expects every nominal time of a cron task from its creation plus the settle time to the stop', () => {
    const task = { taskId: 't', cron: '*/3 * * * * *', everySeconds: 3, createdAt: T0 + 500 };
    expect(expectedNominals(task, T0 + 30_000, 10_000).map((t) => (t - T0) / 1000)).toEqual([
      12, 15, 18, 21, 24, 27, 30,
    ]);
  });

  it('keeps its promises when each item had one effect and each event is in the store once', () => {
    const { ledger, evidence } = world();
    const result = check(ledger, evidence, [], OPTIONS);
    expect(result.verdict).toMatchObject({ lost: 0, duplicatedEffects: 0, promisesKept: true });
    expect(result.executions.cron).toMatchObject({ expected: 7, done: 7 });
    expect(result.events).toMatchObject({ onTopics: 1, rawDuplicatesOnTopics: 1, missingFromStore: 0 });
    expect(result.schedulingLatencyMs.all).toMatchObject({ count: 10, p50: 40, max: 40 });
    expect(result.delayedLatenessMs.all).toMatchObject({ count: 1, max: 50 });
  });

  it('counts a cron nominal time without a succeeded execution as lost', () => {
    const { ledger, evidence } = world();
    evidence.executions = evidence.executions.filter(
      (e) => e.nominalTime !== T0 + 15_000 || e.taskId !== 'cron-3s',
    );
    const result = check(ledger, evidence, [], OPTIONS);
    expect(result.verdict).toMatchObject({ lost: 1, promisesKept: false });
    expect(result.problems).toEqual([expect.stringContaining('cron-3s @ 2026-12-02T12:00:15.000Z')]);
  });

  it('reports a delayed message copied twice under one message-id as a raw duplicate, not a duplicated effect', () => {
    const { ledger, evidence } = world();
    evidence.delayed.push({ key: 'r1-d-3', messageId: 'r1-d-3', timestamp: T0 + 38_000 });
    const result = check(ledger, evidence, [], OPTIONS);
    expect(result.delayed).toMatchObject({
      delivered: 1,
      lost: 0,
      rawDuplicates: 1,
      duplicatesAfterDedup: 0,
    });
    expect(result.verdict.promisesKept).toBe(true);
  });

  it('finds an effect done twice: a second release under another message-id, a second inbox row', () => {
    const { ledger, evidence } = world();
    evidence.released.push({ key: 'letter-1', messageId: 'm1-again', timestamp: T0 + 9_000 });
    evidence.inbox.set('user-2 ai_reply_received', 2);
    const result = check(ledger, evidence, [], OPTIONS);
    expect(result.executions.items.future_letter.duplicatedEffects).toBe(1);
    expect(result.executions.items.ai_reply.duplicatedEffects).toBe(1);
    expect(result.verdict).toMatchObject({ duplicatedEffects: 2, promisesKept: false });
  });

  it('finds an event on a topic that never reached the event store', () => {
    const { ledger, evidence } = world();
    evidence.topicEventIds.set('ev-2', 1);
    expect(check(ledger, evidence, [], OPTIONS).verdict).toMatchObject({
      eventsMissingFromStore: 1,
      promisesKept: false,
    });
  });

  it('measures a fault: lateness during and after the outage and when items were on time again', () => {
    const { ledger, evidence } = world();
    const late = evidence.executions.find((e) => e.executionId === 'e2');
    if (late) late.startedAt = T0 + 6_000 + 2_500;
    const phase = { fault: 'ticker', killAt: T0 + 4_500, readyAt: T0 + 6_500, endAt: T0 + 20_000 };
    const [figures] = check(ledger, evidence, [phase], OPTIONS).phases;
    expect(figures).toMatchObject({
      backAfterMs: 2_000,
      maxLatenessDuringMs: 2_500,
      recoveredAfterMs: 2_500,
    });
    // The ticker kill is left out of the latency outside faults; the late start counts in `all`.
    expect(check(ledger, evidence, [phase], OPTIONS).schedulingLatencyMs.all.max).toBe(2_500);
  });

  it('takes the first due time from which every later item is on time as the recovery', () => {
    const timed = [0, 1, 2, 3, 4].map((s, i) => ({
      due: T0 + s * 1000,
      latenessMs: [3_000, 200, 1_500, 100, 50][i] ?? 0,
      what: 'handler_start' as const,
    }));
    expect(recoveredAt(timed, T0, T0 + 10_000, 1_000)).toBe(T0 + 3_000);
    expect(recoveredAt([], T0, T0 + 10_000, 1_000)).toBe(T0);
    expect(recoveredAt(timed.slice(0, 1), T0, T0 + 10_000, 1_000)).toBeNull();
  });
});
