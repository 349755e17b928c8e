import { DLQ_HEADERS } from '@openpenpal/messaging';
import { waitFor } from '@openpenpal/test-kit';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { request, startNotifierWorld, WEBHOOK_SECRET, type NotifierWorld } from './support.ts';
import { startSmtpSink, type SmtpSink } from './fixtures/smtp-sink.ts';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhook-receiver.ts';

const stack = inject('stack');

describe('notifier', () => {
  let world: NotifierWorld | undefined;
  let smtp: SmtpSink | undefined;
  let hooks: WebhookReceiver | undefined;
  afterEach(async () => {
    await world?.close();
    await smtp?.stop();
    await hooks?.close();
    world = undefined;
    smtp = undefined;
    hooks = undefined;
  });

  const names = (w: NotifierWorld, id: string) => w.eventsOf(id).map((e) => e.name);

  it('writes one inbox row and reports in-app delivery once, even when the request is delivered twice', async () => {
    world = await startNotifierWorld(stack);
    const w = world;
    const user = await w.addUser({ preferences: { quiet_hours: null, language: 'en' } });
    const first = request({ user_id: user, type: 'ai_reply_received', data: { persona: 'poet' } });
    await w.send(first);
    await waitFor(() => names(w, first.notification_id).includes('Delivered:in_app'), {
      what: 'in-app delivery',
    });
    await w.send(first);
    const marker = request({ user_id: user });
    await w.send(marker);
    await waitFor(() => names(w, marker.notification_id).includes('Delivered:in_app'), {
      what: 'the marker',
    });
    expect(names(w, first.notification_id)).toEqual(['Delivered:in_app']);
    const { rows } = await w.pg.pool.query(
      `SELECT user_id, type, channel, status, title, content, read_at FROM notifications WHERE id = $1`,
      [first.notification_id],
    );
    expect(rows).toEqual([
      {
        user_id: user,
        type: 'ai_reply_received',
        channel: 'in_app',
        status: 'sent',
        title: 'You have a reply',
        content: 'the Poet has written back to you. Have a look in your mailbox.',
        read_at: null,
      },
    ]);
    const metrics = (await w.service.ops.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/scheduler_notifications_total\{[^}]*outcome="duplicate"[^}]*\} 1/);
  });

  it('delivers by e-mail over SMTP and by a signed webhook the receiver verifies', async () => {
    smtp = await startSmtpSink();
    hooks = await startWebhookReceiver(WEBHOOK_SECRET);
    world = await startNotifierWorld(stack, {
      env: {
        NOTIFIER_SMTP_HOST: '127.0.0.1',
        NOTIFIER_SMTP_PORT: String(smtp.port),
        NOTIFIER_SMTP_TLS: 'none',
      },
    });
    const w = world;
    const user = await w.addUser({
      email: 'reader@example.test',
      preferences: {
        email_enabled: true,
        quiet_hours: null,
        language: 'en',
        webhook_enabled: true,
        webhook_url: hooks.url,
      },
    });
    const sent = request({
      user_id: user,
      type: 'letter_cleanup_notice',
      data: { deletion_date: '2026-12-01' },
    });
    await w.send(sent);
    await waitFor(() => names(w, sent.notification_id).length === 3, {
      what: 'three deliveries',
      describe: () => names(w, sent.notification_id),
    });
    expect(names(w, sent.notification_id).sort()).toEqual([
      'Delivered:email',
      'Delivered:in_app',
      'Delivered:webhook',
    ]);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]?.to).toEqual(['reader@example.test']);
    expect(smtp.mails[0]?.raw).toContain('Subject: A draft letter moved to cleanup');
    expect(smtp.mails[0]?.raw).toContain('2026-12-01');
    expect(hooks.received).toHaveLength(1);
    expect(hooks.received[0]).toMatchObject({
      verified: true,
      body: { notification_id: sent.notification_id, type: 'letter_cleanup_notice', user_id: user },
    });
  });

  it('reports unknown users, unknown types and malformed data as failed, dead-letters them and goes on', async () => {
    world = await startNotifierWorld(stack);
    const w = world;
    const user = await w.addUser({ preferences: { quiet_hours: null } });
    const unknownUser = request({ user_id: 'nobody-here' });
    const unknownType = request({ user_id: user, type: 'unknown' });
    const malformed = request({ user_id: user, type: 'ai_reply_received', data: { persona: 'pirate' } });
    const good = request({ user_id: user });
    for (const r of [unknownUser, unknownType, malformed, good]) await w.send(r);
    await waitFor(() => names(w, good.notification_id).includes('Delivered:in_app'), {
      what: 'the good one',
    });
    const letters = await w.dlq.waitForCount(3);
    const byKey = new Map(letters.map((l) => [l.key, l.headers]));
    expect(byKey.get(unknownUser.notification_id)?.[DLQ_HEADERS.errorCode]).toBe('NOT_FOUND');
    expect(byKey.get(unknownType.notification_id)?.[DLQ_HEADERS.errorCode]).toBe('VALIDATION_FAILED');
    expect(byKey.get(malformed.notification_id)?.[DLQ_HEADERS.errorMessage]).toContain('data.persona');
    // The failed events go out through the outbox relay, after the dead letters (sent directly).
    await waitFor(
      () => [unknownUser, unknownType, malformed].every((bad) => w.eventsOf(bad.notification_id).length > 0),
      { what: 'the three failed events' },
    );
    for (const bad of [unknownUser, unknownType, malformed]) {
      const [failed] = w.eventsOf(bad.notification_id);
      expect(failed?.name).toBe('Failed:in_app');
      expect(failed?.detail.will_retry).toBe(false);
    }
    const { rows } = await w.pg.pool.query('SELECT id FROM notifications');
    expect(rows).toEqual([{ id: good.notification_id }]);
  });

  it('holds a message during quiet hours and releases it through the delay queue when they end', async () => {
    // A clock running `offset` ahead of the system's, set so that it reads hh:mm:57.5 just before
    // the request: the quiet hours then end 2.5 s later.
    let offset = 0;
    const clock = {
      now: () => Date.now() + offset,
      sleepUntil: async (t: number, signal?: AbortSignal) => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, t - clock.now()));
          signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      },
    };
    world = await startNotifierWorld(stack, { clock });
    const w = world;
    offset = 57_500 - (Date.now() % 60_000);
    const end = new Date(Math.ceil(clock.now() / 60_000) * 60_000);
    const hhmm = (d: Date) =>
      `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    const start = new Date(end.getTime() - 3_600_000);
    const user = await w.addUser({
      preferences: { quiet_hours: `${hhmm(start)}-${hhmm(end)}`, timezone: 'UTC' },
    });
    const held = request({ user_id: user, requested_at: clock.now() });
    await w.send(held);
    await waitFor(() => names(w, held.notification_id).includes('Deferred'), { what: 'the deferral' });
    const deferred = w.eventsOf(held.notification_id)[0]!;
    expect(deferred.detail).toEqual({ until: end.getTime(), reason: 'quiet_hours' });
    expect((await w.pg.pool.query('SELECT id FROM notifications')).rows).toEqual([]);
    await waitFor(() => names(w, held.notification_id).includes('Delivered:in_app'), {
      what: 'the release',
      timeoutMs: 30_000,
    });
    const delivered = w.eventsOf(held.notification_id)[1]!;
    expect(Number(delivered.detail.delivered_at)).toBeGreaterThanOrEqual(end.getTime());
  });

  it('delays e-mail while SMTP is down with the breaker open and delivers it once when SMTP is back', async () => {
    smtp = await startSmtpSink();
    const port = smtp.port;
    await smtp.stop();
    world = await startNotifierWorld(stack, {
      env: {
        NOTIFIER_SMTP_HOST: '127.0.0.1',
        NOTIFIER_SMTP_PORT: String(port),
        NOTIFIER_SMTP_TLS: 'none',
        NOTIFIER_SMTP_TIMEOUT_MS: '2000',
        NOTIFIER_BREAKER_THRESHOLD: '2',
        NOTIFIER_BREAKER_HALF_OPEN_AFTER_MS: '1500',
        NOTIFIER_RETRY_MAX_ATTEMPTS: '10',
      },
    });
    const w = world;
    const user = await w.addUser({
      email: 'down@example.test',
      preferences: { email_enabled: true, quiet_hours: null },
    });
    const mail = request({
      user_id: user,
      channels: ['email'],
      type: 'daily_inspiration',
      data: { theme: '友情时光', prompt: '写一写你的老朋友' },
    });
    await w.send(mail);
    const failures = () => w.eventsOf(mail.notification_id).filter((e) => e.name === 'Failed:email');
    await waitFor(() => failures().some((e) => e.detail.error_code === 'CIRCUIT_OPEN'), {
      what: 'the breaker to open',
      timeoutMs: 30_000,
      describe: () => failures().map((e) => e.detail.error_code),
    });
    expect(
      failures()
        .slice(0, 2)
        .map((e) => e.detail.error_code),
    ).toEqual(['PROVIDER_FAILED', 'PROVIDER_FAILED']);
    expect(failures().every((e) => e.detail.will_retry === true)).toBe(true);
    await smtp.start();
    await waitFor(() => names(w, mail.notification_id).includes('Delivered:email'), {
      what: 'delivery after recovery',
      timeoutMs: 30_000,
    });
    await waitFor(
      async () =>
        /scheduler_notifier_circuit_state\{[^}]*breaker="email"[^}]*\} 0/.test(
          (await w.service.ops.app.inject({ url: '/metrics' })).body,
        ),
      {
        what: 'the breaker to close',
      },
    );
    expect(smtp.mails).toHaveLength(1);
    expect(names(w, mail.notification_id).filter((n) => n === 'Delivered:email')).toHaveLength(1);
    const { rows } = await w.pg.pool.query(
      'SELECT status, attempts FROM notification_deliveries WHERE notification_id = $1',
      [mail.notification_id],
    );
    expect(rows).toEqual([{ status: 'delivered', attempts: 2 }]);
    expect(w.dlq.messages).toHaveLength(0);
  });

  it('fails a webhook the receiver rejects for a bad signature, and dead-letters it after the retries', async () => {
    hooks = await startWebhookReceiver('the-receiver-knows-another-secret');
    world = await startNotifierWorld(stack, { env: { NOTIFIER_RETRY_MAX_ATTEMPTS: '2' } });
    const w = world;
    const user = await w.addUser({
      preferences: { quiet_hours: null, webhook_enabled: true, webhook_url: hooks.url },
    });
    const hook = request({
      user_id: user,
      channels: ['webhook'],
      priority: 'critical',
      type: 'task_failed_alert',
      data: { task_name: 'Letter Status Cleanup' },
    });
    await w.send(hook);
    const [letter] = await w.dlq.waitForCount(1, { timeoutMs: 30_000 });
    expect(letter?.key).toBe(hook.notification_id);
    expect(letter?.headers[DLQ_HEADERS.errorCode]).toBe('PROVIDER_FAILED');
    expect(letter?.headers['notifier-channel']).toBe('webhook');
    await waitFor(() => names(w, hook.notification_id).length === 2, { what: 'two failures' });
    expect(
      w.eventsOf(hook.notification_id).map((e) => [e.name, e.detail.attempt, e.detail.will_retry]),
    ).toEqual([
      ['Failed:webhook', 1, true],
      ['Failed:webhook', 2, false],
    ]);
    expect(hooks.received.map((r) => r.verified)).toEqual([false, false]);
    const { rows } = await w.pg.pool.query<{ status: string; error_message: string }>(
      'SELECT status, error_message FROM notifications WHERE id = $1',
      [hook.notification_id],
    );
    expect(rows[0]?.status).toBe('failed');
    expect(rows[0]?.error_message).toContain('401');
  });

  it('defers a second AI-reply notification to the same user within 24 hours', async () => {
    world = await startNotifierWorld(stack);
    const w = world;
    const user = await w.addUser({ preferences: { quiet_hours: null } });
    const first = request({ user_id: user, type: 'ai_reply_received', data: { persona: 'mentor' } });
    const second = request({ user_id: user, type: 'ai_reply_received', data: { persona: 'friend' } });
    await w.send(first);
    await w.send(second);
    await waitFor(() => names(w, second.notification_id).includes('Deferred'), { what: 'the deferral' });
    expect(names(w, first.notification_id)).toEqual(['Delivered:in_app']);
    const until = Number(w.eventsOf(second.notification_id)[0]!.detail.until);
    expect(until - Date.now()).toBeGreaterThan(23 * 3_600_000);
  });
});
