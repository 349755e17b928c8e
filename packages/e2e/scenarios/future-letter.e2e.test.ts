import { randomUUID } from 'node:crypto';
import type { FutureLetterReleased } from '@openpenpal/contracts';
import { waitFor } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import { executionHistory, resultOf, useSystem, waitForExecution } from '../src/context.ts';

const { api, kafka, platform, supervisor } = useSystem();

describe('a future letter', () => {
  it('is released at its time, announced once, and its recipient notified in the inbox', async () => {
    const writer = await platform.createUser();
    const reader = await platform.createUser();
    const released = await kafka.watch(['openpenpal.letters.future-letter-released']);
    const scheduledAt = new Date(Math.ceil((Date.now() + 6_000) / 1000) * 1000);
    // The letter service stores the letter, then tells the scheduler (docs/topics.md).
    const letterId = await platform.createLetter({
      userId: writer,
      recipientId: reader,
      status: 'scheduled',
      scheduledAt,
    });
    await kafka.send('openpenpal.letters.future-letters', 'FutureLetterEvent', [
      {
        key: letterId,
        value: {
          eventId: randomUUID(),
          occurredAt: Date.now(),
          event: {
            'org.openpenpal.platform.FutureLetterScheduled': {
              letterId,
              scheduledAt: scheduledAt.getTime(),
              timezone: 'Asia/Shanghai',
            },
          },
        },
      },
    ]);

    const [event] = await released.waitFor((m) => m.key === letterId, {
      what: `FutureLetterReleased for ${letterId}`,
    });
    const value = event?.value as FutureLetterReleased;
    expect(value.letterId).toBe(letterId);
    const letter = await platform.row<{ status: string; published_at: Date }>(
      'SELECT status, published_at FROM openpenpal.letters WHERE id = $1',
      [letterId],
    );
    expect(letter?.status).toBe('published');
    // Released at its time: not before, and within a few seconds after.
    expect(letter?.published_at.getTime()).toBeGreaterThanOrEqual(scheduledAt.getTime());
    expect(letter?.published_at.getTime()).toBeLessThan(scheduledAt.getTime() + 5_000);

    await waitFor(
      async () =>
        (
          await platform.rows('SELECT 1 FROM openpenpal.notifications WHERE user_id = $1 AND type = $2', [
            reader,
            'future_letter_unlocked',
          ])
        ).length > 0,
      { what: `the inbox row of ${reader}`, timeoutMs: 30_000, intervalMs: 200 },
    );

    const execution = await waitForExecution(
      api,
      'task_id=future_letter_unlock&limit=100',
      // An exact-time trigger has no TaskTriggered event, so business_key stays null: the result names the letter.
      (e) => e.status === 'succeeded' && resultOf(e).letter_id === letterId,
      { what: `the release execution of ${letterId}` },
    );
    expect(resultOf(execution)).toMatchObject({ released: 1 });
    const history = await executionHistory(api, execution.execution_id);
    expect(history.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['ExecutionStarted', 'ExecutionSucceeded']),
    );

    // Exactly once: one release event, one inbox row, however long we look.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(released.messages.filter((m) => m.key === letterId)).toHaveLength(1);
    const inbox = await platform.rows('SELECT id FROM openpenpal.notifications WHERE user_id = $1', [reader]);
    expect(inbox).toHaveLength(1);
  });
});

describe('a future letter whose handler is SIGKILLed before its time', () => {
  it('is released once, after the handler is restarted', async () => {
    const writer = await platform.createUser();
    const reader = await platform.createUser();
    const watch = await kafka.watch(['openpenpal.letters.future-letter-released', 'scheduler.delay-events']);
    const scheduledAt = new Date(Math.ceil((Date.now() + 8_000) / 1000) * 1000);
    const letterId = await platform.createLetter({
      userId: writer,
      recipientId: reader,
      status: 'scheduled',
      scheduledAt,
    });
    await kafka.send('openpenpal.letters.future-letters', 'FutureLetterEvent', [
      {
        key: letterId,
        value: {
          eventId: randomUUID(),
          occurredAt: Date.now(),
          event: {
            'org.openpenpal.platform.FutureLetterScheduled': {
              letterId,
              scheduledAt: scheduledAt.getTime(),
              timezone: null,
            },
          },
        },
      },
    ]);
    // The handler asked the delay queue for the release; then it dies.
    await watch.waitFor((m) => m.topic === 'scheduler.delay-events' && (m.key ?? '').includes(letterId), {
      what: `the delayed release of ${letterId} scheduled`,
    });
    const killed = await supervisor.act('handler-future-letters', 'kill');
    // Killed while idle, before the trigger: a worker killed in the middle of an attempt holds that
    // attempt's claim for timeout_secs + 30 s (handler-kit), which this scenario does not wait for.
    expect(killed.killed_at).toBeLessThan(scheduledAt.getTime() - 1_000);
    // The trigger is published at its time while no handler runs.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, scheduledAt.getTime() - Date.now()) + 1_500),
    );
    const waiting = await platform.row<{ status: string }>(
      'SELECT status FROM openpenpal.letters WHERE id = $1',
      [letterId],
    );
    expect(waiting?.status).toBe('scheduled');

    const restarted = await supervisor.act('handler-future-letters', 'restart');
    expect(restarted.ready_at).toBeGreaterThan(restarted.started_at ?? 0);
    await watch.waitFor(
      (m) => m.topic === 'openpenpal.letters.future-letter-released' && m.key === letterId,
      {
        what: `FutureLetterReleased for ${letterId} after the restart`,
      },
    );
    await waitFor(
      async () =>
        (await platform.rows('SELECT 1 FROM openpenpal.notifications WHERE user_id = $1', [reader]))
          .length === 1,
      { what: `the inbox row of ${reader}`, timeoutMs: 30_000, intervalMs: 200 },
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(
      watch.messages.filter(
        (m) => m.topic === 'openpenpal.letters.future-letter-released' && m.key === letterId,
      ),
    ).toHaveLength(1);
    expect(
      await platform.rows('SELECT 1 FROM openpenpal.notifications WHERE user_id = $1', [reader]),
    ).toHaveLength(1);
    const handler = (await supervisor.list()).find((p) => p.name === 'handler-future-letters');
    expect(handler).toMatchObject({ running: true, ready: true });
    expect(handler?.exits.at(-1)).toMatchObject({ signal: 'SIGKILL', expected: true });
  });
});
