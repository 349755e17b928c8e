import { describe, expect, it } from 'vitest';
import { check, type Evidence } from '../src/faults/check.ts';
import { ALL_TOPICS, evidenceTopics } from '../src/faults/evidence.ts';
import { createLedger } from '../src/faults/ledger.ts';
import { DELAYED_TARGET_TOPIC, pickKind } from '../src/faults/load.ts';
import { effectLines } from '../src/faults/report.ts';

const share = (kinds: readonly string[], kind: string) =>
  kinds.filter((k) => k === kind).length / kinds.length;

describe('the fault run load and checker as another run uses them', () => {
  it('offers the same mix in the same order as always when no kinds are given', () => {
    expect(Array.from({ length: 12 }, (_, seq) => pickKind(seq))).toEqual([
      'delayed',
      'future_letter',
      'delayed',
      'ai_reply',
      'future_letter',
      'delayed',
      'courier_check',
      'delayed',
      'ai_reply',
      'future_letter',
      'delayed',
      'courier_check',
    ]);
  });

  it('offers only the kinds asked for, their shares scaled up to the whole rate', () => {
    const kinds = Array.from({ length: 10_000 }, (_, seq) =>
      pickKind(seq, ['future_letter', 'ai_reply', 'courier_check']),
    );
    expect(kinds).not.toContain('delayed');
    // 0.25, 0.2 and 0.15 of 0.6.
    expect(share(kinds, 'future_letter')).toBeCloseTo(0.25 / 0.6, 2);
    expect(share(kinds, 'courier_check')).toBeCloseTo(0.2 / 0.6, 2);
    expect(share(kinds, 'ai_reply')).toBeCloseTo(0.15 / 0.6, 2);
    expect(() => pickKind(1, [])).toThrow(/at least one kind/);
  });

  it('reads the delayed messages topic only when the load sends delayed messages', () => {
    expect(ALL_TOPICS).toEqual(evidenceTopics());
    expect(ALL_TOPICS[0]).toBe(DELAYED_TARGET_TOPIC);
    expect(evidenceTopics('cluster-proof.x')[0]).toBe('cluster-proof.x');
    const without = evidenceTopics(null);
    expect(without).not.toContain(DELAYED_TARGET_TOPIC);
    expect(without).toEqual(ALL_TOPICS.slice(1));
    expect(without).toContain('scheduler.notifications.events');
  });

  it('prints the counts of the kinds asked for and leaves out the delayed messages when not asked', () => {
    const ledger = createLedger('r');
    ledger.items.push({
      kind: 'courier_check',
      id: 'task-1',
      userId: 'courier-1',
      offeredAt: 1,
      dueAt: 5_000,
      acceptedAt: 2,
    });
    const evidence: Evidence = {
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
    const result = check(ledger, evidence, [], { onTimeMs: 1_000, cronSettleMs: 10_000 });
    const some = effectLines(result, ['courier_check']);
    expect(some).toContainEqual(expect.stringMatching(/^ {2}courier_check: expected 1, done 0, lost 1, /));
    expect(some.join('\n')).not.toMatch(/future_letter|delayed/);
    const all = effectLines(result);
    expect(all.filter((line) => line.startsWith('  ') && !line.includes('cron'))).toHaveLength(4);
    expect(all).toContainEqual(expect.stringMatching(/^delayed messages scheduled 0/));
  });
});
