import { createContracts } from '@openpenpal/contracts';
import { sampleTrigger } from '@openpenpal/contracts/samples';
import { aiReplyId, aiReplyLetterId, exactExecutionId } from '@openpenpal/domain';
import { collectTopics, uniqueName, waitFor } from '@openpenpal/test-kit';
import { DateTime } from 'luxon';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  insertUserWithLetter,
  replyLetters,
  replyRow,
  runProcess,
  startReplyWorld,
  type ReplyWorld,
} from './support.ts';

const stack = inject('stack');
let world: ReplyWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

const at = (ms: number) => ({ 'org.openpenpal.platform.AiReplyDelayAbsolute': { at: ms } });
const deliveredFor = (w: ReplyWorld, letterId: string) =>
  w.delivered.messages.filter((m) => m.value?.originalLetterId === letterId);
const notificationsFor = (w: ReplyWorld, userId: string) =>
  w.notifications.messages.filter((m) => m.value?.user_id === userId);

async function userWithLetter(
  w: ReplyWorld,
  options: { quietHours?: string | null; timezone?: string } = {},
) {
  const userId = uniqueName('user');
  const letterId = uniqueName('ltr');
  await insertUserWithLetter(w.pg, { userId, letterId, quietHours: null, ...options });
  return { userId, letterId };
}

describe('AI pen-pal replies', () => {
  it('writes the persona reply at its time through the chat API, marks it sent and notifies the user once', async () => {
    world = await startReplyWorld(stack);
    const { userId, letterId } = await userWithLetter(world);
    const dueAt = Date.now() + 2_000;
    const eventId = await world.request({
      letterId,
      userId,
      persona: 'poet',
      timezone: 'Asia/Shanghai',
      requestedAt: Date.now(),
      delay: at(dueAt),
    });

    await waitFor(() => deliveredFor(world!, letterId).length === 1, {
      what: 'AiReplyDelivered',
      timeoutMs: 30_000,
    });
    const id = aiReplyId(eventId);
    const [row] = await replyRow(world.pg, letterId);
    expect(row).toMatchObject({ id, status: 'sent', provider: 'fake-model', fallback: false });
    expect(row!.scheduled_at.getTime()).toBe(dueAt);
    expect(row!.sent_at!.getTime()).toBeGreaterThanOrEqual(dueAt - 50);
    const [letter] = await replyLetters(world.pg, letterId);
    expect(letter).toMatchObject({
      id: aiReplyLetterId(id),
      user_id: userId,
      author_id: 'ai_persona:poet',
      type: 'reply',
      reply_to: letterId,
    });
    expect(letter!.content).toMatch(/As your poet/);
    expect(letter!.metadata.ai_reply).toMatchObject({ fallback: false, provider: 'fake-model' });
    // The persona's system prompt and the letter went to the provider.
    const body = world.chat.lastBody as { model: string; messages: { role: string; content: string }[] };
    expect(body.model).toBe('fake-model');
    expect(body.messages[0]?.role).toBe('system');
    expect(body.messages[0]?.content).toMatch(/You are a poet/);
    expect(body.messages[1]?.content).toContain('A letter to a pen pal.');
    expect(deliveredFor(world, letterId)[0]!.value).toMatchObject({
      aiReplyId: id,
      replyLetterId: aiReplyLetterId(id),
      userId,
      persona: 'poet',
      provider: 'fake-model',
      fallback: false,
    });
    await waitFor(() => notificationsFor(world!, userId).length === 1, { what: 'the notification' });
    expect(notificationsFor(world, userId)[0]!.value).toMatchObject({
      type: 'ai_reply_received',
      dedupe_key: `ai_reply_received:${id}`,
      data: { persona: 'poet', letter_id: aiReplyLetterId(id), reply_to: letterId },
    });
  });

  it('replies once when the request, the exact trigger and the sweep all come twice', async () => {
    world = await startReplyWorld(stack);
    const { userId, letterId } = await userWithLetter(world);
    const dueAt = Date.now() + 1_500;
    const request = {
      eventId: crypto.randomUUID(),
      letterId,
      userId,
      persona: 'friend' as const,
      timezone: 'Europe/Berlin',
      requestedAt: Date.now(),
      delay: at(dueAt),
    };
    await world.request(request);
    await world.request(request);
    const id = aiReplyId(request.eventId);
    const exact = sampleTrigger({
      execution_id: exactExecutionId('ai_penpal_reply', id, dueAt),
      task_id: 'ai_penpal_reply',
      task_type: 'ai_penpal_reply',
      payload: '{}',
      source: 'delayed',
      business_key: id,
      nominal_time: dueAt,
      fire_time: dueAt,
      max_retries: 0,
    });
    const sweep = sampleTrigger({
      task_id: 'ai_penpal_reply',
      task_type: 'ai_penpal_reply',
      payload: '{}',
      source: 'cron',
      max_retries: 0,
    });
    await waitFor(async () => (await replyRow(world!.pg, letterId)).length === 1, {
      what: 'the request recorded',
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now())));
    await Promise.all([
      world.trigger(exact),
      world.trigger(exact),
      world.trigger(sweep),
      world.trigger(sweep),
    ]);

    await waitFor(() => deliveredFor(world!, letterId).length >= 1, { what: 'the reply', timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await replyRow(world.pg, letterId)).toHaveLength(1);
    expect(await replyLetters(world.pg, letterId)).toHaveLength(1);
    expect(new Set(deliveredFor(world, letterId).map((m) => m.headers['message-id'])).size).toBe(1);
    expect(new Set(notificationsFor(world, userId).map((m) => m.value?.notification_id)).size).toBe(1);
    expect(world.chat.calls).toBe(1);
  });

  it('writes in the hourly sweep a reply whose exact trigger never came', async () => {
    world = await startReplyWorld(stack);
    const { userId, letterId } = await userWithLetter(world);
    const id = uniqueName('reply-lost');
    await world.pg.pool.query(
      `INSERT INTO ai_replies (id, original_letter_id, persona, scheduled_at, status, user_id, requested_at)
       VALUES ($1, $2, 'historian', now() - interval '2 hours', 'scheduled', $3, now() - interval '1 day')`,
      [id, letterId, userId],
    );
    await world.trigger(
      sampleTrigger({
        task_id: 'ai_penpal_reply',
        task_type: 'ai_penpal_reply',
        payload: '{}',
        source: 'cron',
        max_retries: 0,
      }),
    );
    await waitFor(() => deliveredFor(world!, letterId).length === 1, {
      what: 'the swept reply',
      timeoutMs: 30_000,
    });
    expect(deliveredFor(world, letterId)[0]!.value).toMatchObject({
      aiReplyId: id,
      persona: 'historian',
      fallback: false,
    });
    expect((await replyRow(world.pg, letterId))[0]?.status).toBe('sent');
  });

  it('writes a reply once when the process is killed in the middle of generating it', async () => {
    world = await startReplyWorld(
      stack,
      { HANDLER_AI_PENPAL_REPLY_CLAIM_MS: '2000', HANDLER_AI_PENPAL_REPLY_TIMEOUT_SECS: '5' },
      { service: false },
    );
    const { userId, letterId } = await userWithLetter(world);
    world.chat.plan(['slow']);
    const first = runProcess(world.env);
    await world.request({
      letterId,
      userId,
      persona: 'mentor',
      timezone: 'UTC',
      requestedAt: Date.now(),
      delay: at(Date.now()),
    });
    await waitFor(
      async () =>
        world!.chat.calls === 1 && (await replyRow(world!.pg, letterId))[0]?.status === 'generating',
      {
        what: 'the generation under way',
        timeoutMs: 60_000,
      },
    );
    first.child.kill('SIGKILL');
    await first.exited;
    // A new process; its sweep takes the row once the dead worker's claim expired.
    const second = runProcess(world.env);
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await world.trigger(
        sampleTrigger({
          task_id: 'ai_penpal_reply',
          task_type: 'ai_penpal_reply',
          payload: '{}',
          source: 'cron',
          max_retries: 0,
        }),
      );
      await waitFor(() => deliveredFor(world!, letterId).length === 1, {
        what: 'the reply',
        timeoutMs: 60_000,
      });
      // Time for late copies. (The killed attempt's redelivered trigger runs only after the kit's claim
      // of it expires, 5 s + 30 s; it then finds the reply sent: the claim is conditional on `scheduled`.)
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await replyLetters(world.pg, letterId)).toHaveLength(1);
      expect(new Set(deliveredFor(world, letterId).map((m) => m.headers['message-id'])).size).toBe(1);
      expect(new Set(notificationsFor(world, userId).map((m) => m.value?.notification_id)).size).toBe(1);
      expect(world.chat.calls).toBe(2);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it('cancels a reply whose letter was deleted before its time, and sends nothing', async () => {
    world = await startReplyWorld(stack);
    const { userId, letterId } = await userWithLetter(world);
    const dueAt = Date.now() + 3_000;
    const eventId = await world.request({
      letterId,
      userId,
      persona: 'poet',
      timezone: 'UTC',
      requestedAt: Date.now(),
      delay: at(dueAt),
    });
    await waitFor(async () => (await replyRow(world!.pg, letterId)).length === 1, {
      what: 'the request recorded',
      timeoutMs: 30_000,
    });
    await world.pg.pool.query('UPDATE letters SET deleted_at = now() WHERE id = $1', [letterId]);
    await waitFor(async () => (await replyRow(world!.pg, letterId))[0]?.status === 'cancelled', {
      what: 'the reply cancelled at its time',
      timeoutMs: 30_000,
    });
    expect((await replyRow(world.pg, letterId))[0]?.id).toBe(aiReplyId(eventId));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await replyLetters(world.pg, letterId)).toHaveLength(0);
    expect(deliveredFor(world, letterId)).toHaveLength(0);
    expect(notificationsFor(world, userId)).toHaveLength(0);
    expect(world.chat.calls).toBe(0);
  });

  it('retries a failing provider, sends the template once the circuit is open, and closes it when the provider is back', async () => {
    world = await startReplyWorld(stack, {
      HANDLER_AI_PENPAL_REPLY_BREAKER_THRESHOLD: '5',
      HANDLER_AI_PENPAL_REPLY_PROVIDER_MAX_ATTEMPTS: '3',
      HANDLER_AI_PENPAL_REPLY_BREAKER_HALF_OPEN_AFTER_MS: '4000',
    });
    const contracts = createContracts();
    const executions = await collectTopics(
      world.kafka.kafka,
      [world.env.HANDLER_EXECUTION_EVENTS_TOPIC!],
      (b) => contracts.codec('ExecutionEvent').decode(b),
    );
    try {
      world.chat.set({ mode: 'error' });
      const { userId, letterId } = await userWithLetter(world);
      await world.request({
        letterId,
        userId,
        persona: 'scientist',
        timezone: 'UTC',
        requestedAt: Date.now(),
        delay: at(Date.now()),
      });

      await waitFor(() => deliveredFor(world!, letterId).length === 1, {
        what: 'the fallback reply',
        timeoutMs: 30_000,
      });
      // First attempt: 3 failed calls (retried with backoff), PROVIDER_FAILED, retried by the kit;
      // second attempt: 2 more failures open the circuit, and the template goes out.
      expect(world.chat.calls).toBe(5);
      const failures = executions.messages.filter(
        (m) => m.value && 'org.openpenpal.scheduler.ExecutionFailed' in m.value.event,
      );
      expect(
        failures.map(
          (m) =>
            (m.value!.event as { 'org.openpenpal.scheduler.ExecutionFailed': { error_code: string } })[
              'org.openpenpal.scheduler.ExecutionFailed'
            ].error_code,
        ),
      ).toEqual(['PROVIDER_FAILED']);
      expect(deliveredFor(world, letterId)[0]!.value).toMatchObject({ provider: 'template', fallback: true });
      const [row] = await replyRow(world.pg, letterId);
      expect(row).toMatchObject({ status: 'sent', provider: 'template', fallback: true });
      const [letter] = await replyLetters(world.pg, letterId);
      expect(letter!.metadata.ai_reply).toMatchObject({ fallback: true, provider: 'template' });
      expect(letter!.content).toMatch(/The Scientist/);

      // While open, another reply is the template at once, without calling the provider.
      const second = await userWithLetter(world);
      await world.request({
        ...second,
        persona: 'mentor',
        timezone: 'UTC',
        requestedAt: Date.now(),
        delay: at(Date.now()),
      });
      await waitFor(() => deliveredFor(world!, second.letterId).length === 1, {
        what: 'the second reply',
        timeoutMs: 30_000,
      });
      expect(deliveredFor(world, second.letterId)[0]!.value?.fallback).toBe(true);
      expect(world.chat.calls).toBe(5);

      // The provider is back: after the half-open wait the trial call succeeds and closes the circuit.
      world.chat.set({ mode: 'ok' });
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      for (const persona of ['artist', 'historian'] as const) {
        const next = await userWithLetter(world);
        await world.request({
          ...next,
          persona,
          timezone: 'UTC',
          requestedAt: Date.now(),
          delay: at(Date.now()),
        });
        await waitFor(() => deliveredFor(world!, next.letterId).length === 1, {
          what: `the ${persona} reply`,
          timeoutMs: 30_000,
        });
        expect(deliveredFor(world, next.letterId)[0]!.value).toMatchObject({
          provider: 'fake-model',
          fallback: false,
        });
      }
      expect(world.chat.calls).toBe(7);
    } finally {
      await executions.close();
    }
  });

  it('counts malformed JSON and slow answers as failures and writes the reply when the provider answers', async () => {
    world = await startReplyWorld(stack, {
      HANDLER_AI_PENPAL_REPLY_BREAKER_THRESHOLD: '100',
      HANDLER_AI_PENPAL_REPLY_PROVIDER_MAX_ATTEMPTS: '4',
      HANDLER_AI_PENPAL_REPLY_PROVIDER_TIMEOUT_MS: '500',
    });
    world.chat.plan(['malformed', 'slow', 'empty', 'ok']);
    const { userId, letterId } = await userWithLetter(world);
    await world.request({
      letterId,
      userId,
      persona: 'traveler',
      timezone: 'UTC',
      requestedAt: Date.now(),
      delay: at(Date.now()),
    });
    await waitFor(() => deliveredFor(world!, letterId).length === 1, {
      what: 'the reply',
      timeoutMs: 30_000,
    });
    expect(world.chat.calls).toBe(4);
    expect(deliveredFor(world, letterId)[0]!.value).toMatchObject({
      provider: 'fake-model',
      fallback: false,
    });
  });

  it('holds a reply that falls in the quiet hours until they end', async () => {
    world = await startReplyWorld(stack);
    // Quiet hours in the user's zone that end at the next whole minute (at least 10 s away).
    const zone = 'Asia/Kolkata';
    let end = DateTime.now().setZone(zone).startOf('minute').plus({ minutes: 1 });
    if (end.toMillis() - Date.now() < 10_000) end = end.plus({ minutes: 1 });
    const start = end.minus({ hours: 3 });
    const { userId, letterId } = await userWithLetter(world, {
      quietHours: `${start.toFormat('HH:mm')}-${end.toFormat('HH:mm')}`,
      timezone: zone,
    });
    await world.request({
      letterId,
      userId,
      persona: 'philosopher',
      timezone: 'UTC',
      requestedAt: Date.now(),
      delay: at(Date.now()),
    });

    await waitFor(
      async () => (await replyRow(world!.pg, letterId))[0]?.scheduled_at.getTime() === end.toMillis(),
      {
        what: 'the due time moved to the end of the quiet hours',
        timeoutMs: 30_000,
      },
    );
    expect(deliveredFor(world, letterId)).toHaveLength(0);
    await waitFor(() => deliveredFor(world!, letterId).length === 1, {
      what: 'the reply after the quiet hours',
      timeoutMs: 90_000,
    });
    const [row] = await replyRow(world.pg, letterId);
    expect(row!.sent_at!.getTime()).toBeGreaterThanOrEqual(end.toMillis() - 50);
  }, 120_000);

  it('refuses bad requests with their reasons, records nothing for them, and goes on with the next', async () => {
    world = await startReplyWorld(stack, { HANDLER_AI_PENPAL_REPLY_DAILY_QUOTA: '3' });
    const { userId, letterId } = await userWithLetter(world);
    const other = await userWithLetter(world);
    const later = { 'org.openpenpal.platform.AiReplyDelayHours': { delayHours: 24 } };
    const base = { letterId, userId, timezone: 'Asia/Shanghai', requestedAt: Date.now(), delay: later };
    const refused = [
      await world.request({ ...base, persona: 'unknown' }),
      await world.request({
        ...base,
        persona: 'poet',
        delay: { 'org.openpenpal.platform.AiReplyDelayRelative': { days: 400, hours: 0, minutes: 0 } },
      }),
      await world.request({ ...base, persona: 'poet', timezone: 'Mars/Olympus_Mons' }),
      await world.request({ ...base, persona: 'poet', letterId: uniqueName('ltr-missing') }),
      await world.request({ ...base, persona: 'poet', letterId: other.letterId }),
    ];
    // Quota 3 per local day, one per persona per 24 h: poet passes, poet again is the cooldown,
    // artist and mentor pass, friend is over the quota.
    const accepted = [await world.request({ ...base, persona: 'poet' })];
    refused.push(await world.request({ ...base, persona: 'poet' }));
    accepted.push(
      await world.request({ ...base, persona: 'artist' }),
      await world.request({ ...base, persona: 'mentor' }),
    );
    refused.push(await world.request({ ...base, persona: 'friend' }));
    const next = await userWithLetter(world);
    await world.request({
      ...next,
      persona: 'poet',
      timezone: 'UTC',
      requestedAt: Date.now(),
      delay: at(Date.now()),
    });

    await waitFor(() => world!.rejections.messages.length === refused.length, {
      what: 'the refusals',
      timeoutMs: 30_000,
    });
    const reasons = world.rejections.messages.map((m) => m.value!);
    expect(reasons.map((r) => r.originalEventId).sort()).toEqual([...refused].sort());
    const byEvent = new Map(reasons.map((r) => [r.originalEventId, r]));
    const refusal = (i: number, code: string, pattern: RegExp) => {
      const found = byEvent.get(refused[i] ?? '');
      expect(found?.errorCode).toBe(code);
      expect(found?.reason).toMatch(pattern);
    };
    refusal(0, 'VALIDATION_FAILED', /^persona: unknown/);
    refusal(1, 'VALIDATION_FAILED', /^delay\.days: must be from 0 to 365$/);
    refusal(2, 'VALIDATION_FAILED', /^timezone: .* not an IANA/);
    refusal(3, 'NOT_FOUND', /does not exist$/);
    refusal(4, 'VALIDATION_FAILED', /does not belong to user/);
    refusal(5, 'VALIDATION_FAILED', /^cooldown: /);
    refusal(6, 'VALIDATION_FAILED', /^quota: .* already has 3/);
    expect(reasons.every((r) => r.eventType === 'AiReplyRequested')).toBe(true);

    const rows = await replyRow(world.pg, letterId);
    expect(rows.map((r) => r.id).sort()).toEqual(accepted.map((e) => aiReplyId(e)).sort());
    expect(rows.every((r) => r.status === 'scheduled')).toBe(true);
    expect(await replyRow(world.pg, other.letterId)).toHaveLength(0);
    await waitFor(() => deliveredFor(world!, next.letterId).length === 1, {
      what: 'the next reply',
      timeoutMs: 30_000,
    });
  });
});
