import { check, createLedger, expectedNominals, type Evidence } from '@openpenpal/e2e/faults';
import { describe, expect, it } from 'vitest';
import { effectPhases, effectsBroken, effectsReport, effectsSummary } from '../src/effects.ts';
import { parseOptions } from '../src/options.ts';

const T0 = Date.UTC(2026, 11, 2, 19, 0, 0);
const OPTIONS = { onTimeMs: 1_000, cronSettleMs: 10_000 };

/** One item of each inbound kind and a cron task every 3 s, each with its effect once. */
function world() {
  const ledger = createLedger('cp1');
  ledger.loadStartedAt = T0;
  ledger.loadStoppedAt = T0 + 30_000;
  ledger.cronTasks.push({ taskId: 'cp1-every-3s', cron: '*/3 * * * * *', everySeconds: 3, createdAt: T0 });
  const item = (
    kind: 'future_letter' | 'ai_reply' | 'courier_check',
    id: string,
    due: number,
    user: string,
  ) => ({
    kind,
    id,
    userId: user,
    offeredAt: T0 + due - 4_000,
    dueAt: T0 + due,
    acceptedAt: T0 + due - 3_900,
  });
  ledger.items.push(
    item('future_letter', 'letter-1', 5_000, 'reader-1'),
    item('ai_reply', 'letter-2', 6_000, 'user-2'),
    item('courier_check', 'task-3', 7_000, 'courier-3'),
  );
  const evidence: Evidence = {
    delayed: [],
    released: [{ key: 'letter-1', messageId: 'm1', timestamp: T0 + 5_200 }],
    aiDelivered: [{ key: 'user-2', messageId: 'm2', timestamp: T0 + 6_300 }],
    courierTimedOut: [{ key: 'task-3', messageId: 'm3', timestamp: T0 + 7_100 }],
    firstTriggers: new Map(),
    executions: [],
    succeededEvents: new Map(),
    letters: new Map([['letter-1', { status: 'published', publishedAt: T0 + 5_150 }]]),
    aiReplies: new Map([['letter-2', [{ id: 'reply-2', status: 'sent' }]]]),
    courierTasks: new Map([['task-3', { timeoutCount: 1 }]]),
    inbox: new Map([
      ['reader-1 future_letter_unlocked', 1],
      ['user-2 ai_reply_received', 1],
      ['courier-3 courier_timeout_reminder', 1],
    ]),
    topicEventIds: new Map([['ev-1', 1]]),
    storeEventIds: new Map([['ev-1', 1]]),
    deliveredPerChannel: new Map([['n-1 in_app', new Set(['ev-1'])]]),
    rejections: new Map(),
  };
  const task = ledger.cronTasks[0];
  if (task) {
    for (const nominal of expectedNominals(task, ledger.loadStoppedAt, OPTIONS.cronSettleMs)) {
      evidence.executions.push({
        executionId: `c${nominal}`,
        taskId: task.taskId,
        status: 'succeeded',
        nominalTime: nominal,
        startedAt: nominal + 30,
        businessKey: null,
      });
    }
  }
  return { ledger, evidence };
}

describe('the inbound load’s effects in the cluster run', () => {
  it('finds nothing broken when every item had its effect once and every event is in the store once', () => {
    const { ledger, evidence } = world();
    const result = check(ledger, evidence, [], OPTIONS);
    expect(effectsBroken(result)).toEqual([]);
    const lines = effectsSummary(result);
    expect(lines).toContainEqual(
      expect.stringMatching(/future_letter: expected 1, done 1, lost 0, effect twice 0, raw duplicates 0/),
    );
    expect(lines.join('\n')).not.toMatch(/delayed/);
    const report = effectsReport(ledger, { result, rounds: 2, ms: 12_000 }, undefined);
    expect(report).toMatchObject({
      itemsOffered: 3,
      cronTasks: [{ taskId: 'cp1-every-3s', cron: '*/3 * * * * *' }],
      load: null,
      settle: { rounds: 2, ms: 12_000 },
      verdict: { promisesKept: true },
    });
    expect(report.executions.items.ai_reply).toMatchObject({ expected: 1, done: 1, lost: 0 });
  });

  it('breaks the run for a lost letter, an AI reply announced twice, a courier reminded twice and a missed cron run', () => {
    const { ledger, evidence } = world();
    evidence.letters.set('letter-1', { status: 'scheduled', publishedAt: null });
    // A second announcement under another message id; a second reminder in the courier's inbox.
    evidence.aiDelivered.push({ key: 'user-2', messageId: 'm2-again', timestamp: T0 + 9_000 });
    evidence.inbox.set('courier-3 courier_timeout_reminder', 2);
    evidence.executions = evidence.executions.slice(1);
    expect(effectsBroken(check(ledger, evidence, [], OPTIONS))).toEqual([
      '1 future_letter effects lost (of 1)',
      '1 ai_reply effects applied twice',
      '1 courier_check effects applied twice',
      '1 cron executions never ran (of 7)',
    ]);
  });

  it('breaks the run for an event missing from the store, one stored twice and a notification delivered twice', () => {
    const { ledger, evidence } = world();
    evidence.topicEventIds.set('ev-2', 1).set('ev-3', 1);
    evidence.storeEventIds.set('ev-3', 2);
    evidence.deliveredPerChannel.set('n-1 in_app', new Set(['ev-1', 'ev-4']));
    expect(effectsBroken(check(ledger, evidence, [], OPTIONS))).toEqual([
      '1 events missing from the event store',
      '1 events in the event store twice',
      '1 notifications delivered twice on a channel',
    ]);
  });

  it('gives the e2e checker the cluster run’s faults, back when restarted', () => {
    expect(
      effectPhases([
        {
          name: 'Kafka broker',
          kind: 'kafka-broker',
          target: 'kafka-1',
          killAt: T0,
          restartedAt: T0 + 15_000,
          endAt: T0 + 60_000,
        },
      ]),
    ).toEqual([{ fault: 'Kafka broker', killAt: T0, readyAt: T0 + 15_000, endAt: T0 + 60_000 }]);
  });

  it('puts the inbound load on the full run only, and only with every service its effects go through', () => {
    expect(parseOptions([], '/r').inboundRate).toBe(10);
    expect(parseOptions(['--quick'], '/r').inboundRate).toBe(0);
    expect(parseOptions(['--inbound-rate', '4'], '/r').inboundRate).toBe(4);
    expect(() => parseOptions(['--services', 'ticker,delay-queue'], '/r')).toThrow(
      /need api, recorder, notifier, .* \(or --inbound-rate 0\)/,
    );
    expect(parseOptions(['--services', 'ticker,delay-queue', '--inbound-rate', '0'], '/r').inboundRate).toBe(
      0,
    );
  });
});
