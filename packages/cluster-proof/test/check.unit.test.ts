import { describe, expect, it } from 'vitest';
import { checkDelayed, checkRun, checkTokens, checkTriggers } from '../src/check.ts';
import { phaseRecovery, streamRecovery } from '../src/recovery.ts';
import type {
  Acquisition,
  CronPlan,
  DelayedCopy,
  FaultPhase,
  Observations,
  TriggerCopy,
} from '../src/records.ts';

const T0 = Date.UTC(2026, 11, 2, 16, 0, 0);

const offers = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `m${i}`, dueAt: T0 + i * 100, acceptedAt: T0 }));
const copy = (key: string, receivedAt: number, messageId = key, offset = receivedAt): DelayedCopy => ({
  key,
  messageId,
  receivedAt,
  publishedAt: receivedAt - 5,
  partition: 0,
  offset: String(offset),
});
const everyCopy = (n: number) => offers(n).map((o) => copy(o.id, o.dueAt + 20));

const plan: CronPlan = { taskId: 'task-a', from: T0, to: T0 + 4_000, periodMs: 1_000 };
const trigger = (
  nominal: number,
  token = 7,
  executionId = `e${nominal}`,
  receivedAt = nominal + 30,
): TriggerCopy => ({
  taskId: 'task-a',
  nominalTime: nominal,
  fireTime: nominal + 5,
  messageId: executionId,
  executionId,
  fencingToken: token,
  receivedAt,
  publishedAt: receivedAt - 5,
});
const everyTrigger = () => [0, 1, 2, 3, 4].map((s) => trigger(T0 + s * 1_000));
const acquired = (token: number, at: number, process = 'ticker-1'): Acquisition => ({ token, at, process });

const clean = (): Observations => ({
  offers: offers(5),
  delayedCopies: everyCopy(5),
  plans: [plan],
  triggerCopies: everyTrigger(),
  acquisitions: [acquired(7, T0 - 5_000)],
  storedToken: 7,
  phases: [],
});

describe('the cluster run checker', () => {
  it('passes a run where every message and fire time arrived once under one token', () => {
    const result = checkRun(clean());
    expect(result.broken).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.delayed.delivered).toBe(5);
    expect(result.triggers.firedFireTimes).toBe(5);
  });

  it('catches a delayed message Kafka accepted that never arrived', () => {
    const result = checkDelayed(
      offers(5),
      everyCopy(5).filter((c) => c.key !== 'm3'),
    );
    expect(result.lost).toBe(1);
    expect(result.lostSample).toEqual(['m3']);
    expect(checkRun({ ...clean(), delayedCopies: everyCopy(5).slice(1) }).ok).toBe(false);
  });

  it('does not count a request Kafka never acknowledged as lost', () => {
    const all = offers(3);
    const result = checkDelayed([...all.slice(0, 2), { ...all[2]!, acceptedAt: null }], everyCopy(2));
    expect(result.lost).toBe(0);
  });

  it('reports a repeated record with the same message id as a raw duplicate, not a double delivery', () => {
    const result = checkDelayed(offers(5), [...everyCopy(5), copy('m2', T0 + 9_000, 'm2', 1)]);
    expect(result.rawDuplicates).toBe(1);
    expect(result.messagesWithRawDuplicates).toBe(1);
    expect(result.deliveredTwiceAfterDedup).toBe(0);
    expect(checkRun({ ...clean(), delayedCopies: [...everyCopy(5), copy('m2', T0 + 9_000)] }).ok).toBe(true);
  });

  it('catches a delayed message delivered again under another message id', () => {
    const result = checkDelayed(offers(5), [...everyCopy(5), copy('m2', T0 + 9_000, 'other-id')]);
    expect(result.deliveredTwiceAfterDedup).toBe(1);
    expect(result.deliveredTwiceSample).toEqual(['m2']);
  });

  it('catches two messages under one message id, which a deduplicating consumer would drop', () => {
    const copies = everyCopy(5).map((c) => (c.key === 'm4' ? { ...c, messageId: 'm1' } : c));
    expect(checkDelayed(offers(5), copies).lostToDedup).toBe(1);
  });

  it('catches a nominal fire time that was never triggered', () => {
    const result = checkTriggers(
      [plan],
      everyTrigger().filter((t) => t.nominalTime !== T0 + 2_000),
    );
    expect(result.missed).toBe(1);
    expect(result.missedSample).toEqual([`task-a@${new Date(T0 + 2_000).toISOString()}`]);
  });

  it('reports a re-fired time with the same execution id as a raw duplicate trigger', () => {
    const result = checkTriggers([plan], [...everyTrigger(), trigger(T0 + 1_000, 8)]);
    expect(result.rawDuplicates).toBe(1);
    expect(result.triggeredTwiceAfterDedup).toBe(0);
  });

  it('catches a fire time triggered twice under two execution ids', () => {
    const result = checkTriggers([plan], [...everyTrigger(), trigger(T0 + 1_000, 8, 'another')]);
    expect(result.triggeredTwiceAfterDedup).toBe(1);
    expect(checkRun({ ...clean(), triggerCopies: [...everyTrigger(), trigger(T0, 7, 'x')] }).ok).toBe(false);
  });

  it('catches a fencing token handed out twice', () => {
    const result = checkTokens(
      [acquired(7, T0 - 5_000), acquired(7, T0 + 2_000, 'ticker-2')],
      everyTrigger(),
      7,
    );
    expect(result.reused).toEqual([{ token: 7, processes: ['ticker-1', 'ticker-2'] }]);
    expect(
      checkRun({ ...clean(), acquisitions: [acquired(7, T0 - 5_000), acquired(7, T0 + 2_000, 'ticker-2')] })
        .broken,
    ).toEqual(['fencing tokens reused: 7']);
  });

  it('catches a leader elected with a lower token than an earlier one', () => {
    const result = checkTokens([acquired(9, T0 - 5_000), acquired(8, T0 + 2_000, 'ticker-2')], [], 9);
    expect(result.wentBackwards).toEqual([{ token: 8, after: 9, process: 'ticker-2' }]);
  });

  it('catches a PostgreSQL token row below a token in use', () => {
    expect(checkTokens([acquired(7, T0)], everyTrigger(), 6).storedBelowHighestSeen).toBe(true);
  });

  it('catches a triggered execution the recorder never recorded', () => {
    const recorded = everyTrigger().map((t) => t.executionId);
    expect(checkRun({ ...clean(), recordedExecutions: recorded }).ok).toBe(true);
    const result = checkRun({ ...clean(), recordedExecutions: recorded.slice(1) });
    expect(result.recorder).toMatchObject({ executions: 5, recorded: 4, missing: 1 });
    expect(result.broken).toEqual(["1 triggered executions missing from the recorder's read model"]);
  });

  it('counts a trigger of a deposed leader without calling it a reuse', () => {
    const late = trigger(T0 + 3_000, 7);
    const result = checkTokens([acquired(7, T0 - 5_000), acquired(8, T0 + 2_000, 'ticker-2')], [late], 8);
    expect(result.triggersFromDeposedLeader).toBe(1);
    expect(result.reused).toEqual([]);
  });
});

describe('recovery per fault', () => {
  const phase: FaultPhase = {
    name: 'redis primary',
    kind: 'redis-primary',
    target: 'redis-2',
    killAt: T0,
    restartedAt: T0 + 5_000,
    endAt: T0 + 20_000,
  };
  // One item due every 100 ms; during the outage (T0+1 s .. T0+4 s) they arrive at T0+4 s.
  const items = Array.from({ length: 200 }, (_, i) => {
    const dueAt = T0 + i * 100;
    const receivedAt = dueAt >= T0 + 1_000 && dueAt < T0 + 4_000 ? T0 + 4_000 : dueAt + 10;
    return { dueAt, receivedAt };
  });

  it('measures when deliveries resumed and when lateness was back under the threshold', () => {
    const result = streamRecovery(items, phase, 1_000);
    expect(result.longestSilenceMs).toBe(3_090);
    expect(result.resumedAfterKillMs).toBe(4_000);
    expect(result.lateUntilAfterKillMs).toBe(4_000);
    expect(result.dueInPhaseNotReceivedInPhase).toBe(0);
    expect(result.latenessInPhaseMs.max).toBe(3_000);
    // Second 4 after the kill: the 30 items the outage held back and the 10 on-time ones due in it.
    expect(result.timeline.find(([second]) => second === 4)).toEqual([4, 40, 3_000]);
    expect(result.timeline.some(([second]) => second === 2)).toBe(false);
  });

  it('says nothing stopped when no silence reached the threshold', () => {
    const steady = items.map((i) => ({ dueAt: i.dueAt, receivedAt: i.dueAt + 10 }));
    expect(streamRecovery(steady, phase, 1_000)).toMatchObject({
      resumedAfterKillMs: 0,
      lateUntilAfterKillMs: 0,
    });
  });

  it('does not hold an item due just before the next fault against this one', () => {
    const edge = [...items, { dueAt: T0 + 19_900, receivedAt: T0 + 20_050 }];
    const result = streamRecovery(edge, phase, 1_000);
    expect(result.dueInPhaseNotReceivedInPhase).toBe(0);
    expect(result.lateUntilAfterKillMs).toBe(4_000);
  });

  it('does not claim recovery while items due in the phase are still missing', () => {
    const missing = items.map((i, n) => (n === 50 ? { ...i, receivedAt: null } : i));
    const result = phaseRecovery(phase, { delayed: missing, triggers: items }, 1_000);
    expect(result.delayed.dueInPhaseNotReceivedInPhase).toBe(1);
    expect(result.lateUntilAfterKillMs).toBeNull();
    expect(result.triggers.lateUntilAfterKillMs).toBe(4_000);
  });
});
