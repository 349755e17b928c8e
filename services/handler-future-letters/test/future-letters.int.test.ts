import { sampleTrigger } from '@openpenpal/contracts/samples';
import { createFutureLetterRepository, exactExecutionId } from '@openpenpal/domain';
import { createProducer } from '@openpenpal/messaging';
import { createContracts } from '@openpenpal/contracts';
import { uniqueName, waitFor } from '@openpenpal/test-kit';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { releaseMessages } from '../src/release/messages.ts';
import { insertLetters, letterState, runProcess, startLetterWorld, type LetterWorld } from './support.ts';

const stack = inject('stack');
let world: LetterWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

const scheduled = (
  id: string,
  at: Date,
  extra: Partial<Parameters<typeof insertLetters>[1][number]> = {},
) => ({
  id,
  user_id: `owner-${id}`,
  recipient_id: `reader-${id}`,
  status: 'scheduled',
  scheduled_at: at,
  ...extra,
});

const scheduledEvent = (letterId: string, at: number) => ({
  'org.openpenpal.platform.FutureLetterScheduled': { letterId, scheduledAt: at, timezone: 'Asia/Shanghai' },
});

function releasedIds(w: LetterWorld, letterId: string) {
  return w.released.messages.filter((m) => m.value?.letterId === letterId);
}

function notificationsFor(w: LetterWorld, userId: string) {
  return w.notifications.messages.filter((m) => m.value?.user_id === userId);
}

describe('future-letter release', () => {
  it('releases a letter at its time from FutureLetterScheduled and tells the recipient after the commit', async () => {
    world = await startLetterWorld(stack);
    const id = uniqueName('ltr');
    const at = Date.now() + 2_000;
    await insertLetters(world.pg, [scheduled(id, new Date(at))]);
    await world.publish(id, scheduledEvent(id, at));

    await waitFor(() => releasedIds(world!, id).length === 1, {
      what: 'FutureLetterReleased',
      timeoutMs: 30_000,
    });
    const state = await letterState(world.pg, id);
    expect(state?.status).toBe('published');
    // Not before its time (the delay queue fires at the due time; the database clock may differ by ms).
    expect(state!.published_at!.getTime()).toBeGreaterThanOrEqual(at - 50);
    const event = releasedIds(world, id)[0]!.value!;
    expect(event).toMatchObject({
      letterId: id,
      ownerId: `owner-${id}`,
      recipientId: `reader-${id}`,
      scheduledAt: at,
    });
    await waitFor(() => notificationsFor(world!, `reader-${id}`).length === 1, { what: 'the notification' });
    expect(notificationsFor(world, `reader-${id}`)[0]!.value).toMatchObject({
      type: 'future_letter_unlocked',
      dedupe_key: `future_letter_unlocked:${id}:reader-${id}`,
      execution_id: event.executionId,
    });
    expect(notificationsFor(world, `owner-${id}`)).toHaveLength(0);
  });

  it('tells the owner of a self-addressed letter and nobody of a public one', async () => {
    world = await startLetterWorld(stack);
    const self = uniqueName('ltr-self');
    const open = uniqueName('ltr-public');
    const past = new Date(Date.now() - 60_000);
    await insertLetters(world.pg, [
      scheduled(self, past, { recipient_id: null, visibility: 'self' }),
      scheduled(open, past, { visibility: 'public' }),
    ]);
    await world.trigger(
      sampleTrigger({
        task_id: 'future_letter_unlock',
        task_type: 'future_letter_unlock',
        payload: '{}',
        source: 'sweep',
        max_retries: 0,
      }),
    );

    await waitFor(() => releasedIds(world!, self).length === 1 && releasedIds(world!, open).length === 1, {
      what: 'both released by the sweep',
      timeoutMs: 30_000,
    });
    await waitFor(() => notificationsFor(world!, `owner-${self}`).length === 1, {
      what: "the owner's notification",
    });
    // The public letter's event is out; no notification follows it (same outbox transaction).
    expect(notificationsFor(world, `owner-${open}`)).toHaveLength(0);
    expect(notificationsFor(world, `reader-${open}`)).toHaveLength(0);
  });

  it('changes a letter once and notifies once when the same trigger comes twice and the sweep runs too', async () => {
    world = await startLetterWorld(stack);
    const id = uniqueName('ltr-dup');
    const at = Date.now() - 1_000;
    await insertLetters(world.pg, [scheduled(id, new Date(at))]);
    const exact = sampleTrigger({
      execution_id: exactExecutionId('future_letter_unlock', id, at),
      task_id: 'future_letter_unlock',
      task_type: 'future_letter_unlock',
      payload: '{}',
      source: 'delayed',
      business_key: id,
      nominal_time: at,
      fire_time: at,
      max_retries: 0,
    });
    await world.trigger(exact);
    await world.trigger(exact);
    await world.trigger(
      sampleTrigger({
        task_id: 'future_letter_unlock',
        task_type: 'future_letter_unlock',
        payload: '{}',
        source: 'sweep',
        max_retries: 0,
      }),
    );

    await waitFor(() => releasedIds(world!, id).length >= 1, { what: 'the release', timeoutMs: 30_000 });
    // Give duplicates every chance to show up.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(new Set(releasedIds(world, id).map((m) => m.headers['message-id'])).size).toBe(1);
    expect(new Set(notificationsFor(world, `reader-${id}`).map((m) => m.value?.notification_id)).size).toBe(
      1,
    );
    const { rows } = await world.pg.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM scheduler_outbox',
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('releases a letter at its new time when an earlier time fired first (the delay queue never reuses a fired id)', async () => {
    world = await startLetterWorld(stack);
    const id = uniqueName('ltr-moved');
    const newTime = Date.now() + 4_000;
    await insertLetters(world.pg, [scheduled(id, new Date(newTime))]);
    // The letter service first chose a time already past, then moved it.
    await world.publish(id, scheduledEvent(id, Date.now() - 60_000), Date.now() - 1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await letterState(world.pg, id))?.status).toBe('scheduled');
    await world.publish(id, scheduledEvent(id, newTime));

    await waitFor(() => releasedIds(world!, id).length === 1, {
      what: 'the release at the new time',
      timeoutMs: 30_000,
    });
    const state = await letterState(world.pg, id);
    expect(state!.published_at!.getTime()).toBeGreaterThanOrEqual(newTime - 50);
    expect(state!.published_at!.getTime()).toBeLessThan(newTime + 5_000);
  });

  it('does not release a letter cancelled just before its time, not even by the sweep', async () => {
    world = await startLetterWorld(stack);
    const id = uniqueName('ltr-cancel');
    const at = Date.now() + 3_000;
    await insertLetters(world.pg, [scheduled(id, new Date(at))]);
    await world.publish(id, scheduledEvent(id, at), Date.now() - 10);
    await world.publish(id, {
      'org.openpenpal.platform.FutureLetterCancelled': { letterId: id, cancelledAt: Date.now() },
    });

    await new Promise((resolve) => setTimeout(resolve, at - Date.now() + 2_500));
    await world.trigger(
      sampleTrigger({
        task_id: 'future_letter_unlock',
        task_type: 'future_letter_unlock',
        payload: '{}',
        source: 'sweep',
        max_retries: 0,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await letterState(world.pg, id))?.status).toBe('scheduled');
    expect(releasedIds(world, id)).toHaveLength(0);
    expect(notificationsFor(world, `reader-${id}`)).toHaveLength(0);
  });

  it('refuses an event for a letter that does not exist, with its reason, and goes on with the partition', async () => {
    world = await startLetterWorld(stack);
    const missing = uniqueName('ltr-missing');
    const id = uniqueName('ltr-after');
    const at = Date.now() + 500;
    await insertLetters(world.pg, [scheduled(id, new Date(at))]);
    // Same key-less partition order is not guaranteed across keys, so send both and expect both outcomes.
    await world.publish(missing, scheduledEvent(missing, at));
    await world.publish(missing, scheduledEvent(missing, Date.UTC(2200, 0, 1)));
    await world.publish(id, scheduledEvent(id, at));

    await waitFor(() => world!.rejections.messages.length === 2, {
      what: 'two rejections',
      timeoutMs: 30_000,
    });
    const reasons = world.rejections.messages.map((m) => m.value!);
    expect(reasons.map((r) => r.errorCode).sort()).toEqual(['NOT_FOUND', 'VALIDATION_FAILED']);
    expect(reasons.find((r) => r.errorCode === 'NOT_FOUND')).toMatchObject({
      subjectId: missing,
      eventType: 'FutureLetterScheduled',
      reason: `letter ${missing} does not exist`,
    });
    expect(reasons.find((r) => r.errorCode === 'VALIDATION_FAILED')?.reason).toMatch(/^scheduledAt: /);
    await waitFor(() => releasedIds(world!, id).length === 1, {
      what: 'the next letter released',
      timeoutMs: 30_000,
    });
    expect(world.rejections.messages.every((m) => m.key === missing)).toBe(true);
  });

  it('publishes what a release committed when the process died before relaying it, exactly once', async () => {
    world = await startLetterWorld(stack, { service: false });
    const id = uniqueName('ltr-crash');
    await insertLetters(world.pg, [scheduled(id, new Date(Date.now() - 1_000))]);
    // The release commits with its outbox rows, and the process "dies" before any relay runs.
    const contracts = createContracts();
    const encoder = createProducer({
      kafka: world.kafka.kafka,
      contracts,
      logger: pino({ level: 'silent' }),
    });
    const repository = createFutureLetterRepository({ pool: world.pg.pool, schema: world.pg.schema });
    const bindings = {
      released: {
        topic: world.env.HANDLER_FUTURE_LETTER_UNLOCK_RELEASED_TOPIC!,
        schema: 'FutureLetterReleased' as const,
      },
      notifications: {
        topic: world.env.HANDLER_FUTURE_LETTER_UNLOCK_NOTIFICATIONS_TOPIC!,
        schema: 'NotificationRequested' as const,
      },
    };
    const letter = await repository.release(id, new Date(), (l) =>
      releaseMessages(encoder, bindings, { execution_id: '7b0e4b1c-2f7e-4c1d-9a55-0c1f4c7b9e21' }, l),
    );
    expect(letter?.letterId).toBe(id);
    expect(releasedIds(world, id)).toHaveLength(0);

    const first = runProcess(world.env);
    await waitFor(() => releasedIds(world!, id).length === 1, {
      what: 'the relayed event',
      timeoutMs: 60_000,
    });
    await waitFor(() => notificationsFor(world!, `reader-${id}`).length === 1, {
      what: 'the relayed notification',
    });
    first.child.kill('SIGKILL');
    await first.exited;
    // A second process finds nothing left to relay.
    const second = runProcess(world.env);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    second.child.kill('SIGTERM');
    await second.exited;
    expect(releasedIds(world, id)).toHaveLength(1);
    expect(notificationsFor(world, `reader-${id}`)).toHaveLength(1);
    await encoder.close();
  });

  it('loses no release when the handler is SIGKILLed while relaying a burst', async () => {
    world = await startLetterWorld(stack, { service: false });
    const ids = Array.from({ length: 300 }, (_, i) => `${uniqueName('ltr-burst')}-${i}`);
    await insertLetters(
      world.pg,
      ids.map((id) => scheduled(id, new Date(Date.now() - 1_000))),
    );
    const env = { ...world.env, HANDLER_FUTURE_LETTER_UNLOCK_SWEEP_BATCH: '20', OUTBOX_RELAY_BATCH: '10' };
    const first = runProcess(env);
    await world.trigger(
      sampleTrigger({
        task_id: 'future_letter_unlock',
        task_type: 'future_letter_unlock',
        payload: '{}',
        source: 'sweep',
        max_retries: 0,
        // A killed worker's claim blocks a redelivered attempt for timeout_secs + 30 s.
        timeout_secs: 5,
      }),
    );
    await waitFor(() => world!.released.messages.length > 0, {
      what: 'the first relayed events',
      timeoutMs: 60_000,
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const second = runProcess(env);
    try {
      await waitFor(
        () => new Set(world!.released.messages.map((m) => m.value?.letterId)).size === ids.length,
        {
          what: 'every letter released and relayed',
          timeoutMs: 90_000,
          describe: () => world!.released.messages.length,
        },
      );
      await waitFor(
        () => new Set(world!.notifications.messages.map((m) => m.value?.notification_id)).size === ids.length,
        {
          what: 'every notification relayed',
          timeoutMs: 30_000,
        },
      );
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    const { rows } = await world.pg.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM letters WHERE status = 'published'",
    );
    expect(rows[0]?.n).toBe(ids.length);
    // Copies are possible (killed between the send and the delete) but share their message id.
    const byLetter = new Map<string, Set<string>>();
    for (const m of world.released.messages) {
      const set = byLetter.get(m.value!.letterId) ?? new Set();
      set.add(m.headers['message-id']!);
      byLetter.set(m.value!.letterId, set);
    }
    expect([...byLetter.values()].every((set) => set.size === 1)).toBe(true);
  });
});
