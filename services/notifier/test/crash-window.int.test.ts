import { waitFor } from '@openpenpal/test-kit';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { request, startNotifierWorld, WEBHOOK_SECRET, type NotifierWorld } from './support.ts';
import { startWebhookReceiver, type WebhookReceiver } from './fixtures/webhook-receiver.ts';

const stack = inject('stack');

describe('notifier crash window', () => {
  let world: NotifierWorld | undefined;
  let hooks: WebhookReceiver | undefined;
  afterEach(async () => {
    await world?.close();
    await hooks?.close();
    world = undefined;
    hooks = undefined;
  });

  it('reports a delivery recorded by a notifier whose events never reached Kafka once, after a restart, without delivering again', async () => {
    hooks = await startWebhookReceiver(WEBHOOK_SECRET);
    // The first notifier delivers and records, but nothing it sends reaches the events topic: as
    // if it had died after the delivery records were written and before the events went out.
    world = await startNotifierWorld(stack, { refuseEvents: true });
    const w = world;
    const user = await w.addUser({
      preferences: { quiet_hours: null, language: 'en', webhook_enabled: true, webhook_url: hooks.url },
    });
    const sent = request({ user_id: user });
    await w.send(sent);
    const recorded = async () =>
      (
        await w.pg.pool.query<{ channel: string }>(
          `SELECT channel FROM "${w.env.NOTIFIER_DB_SCHEMA}".notification_deliveries
            WHERE notification_id = $1 AND status = 'delivered' ORDER BY channel`,
          [sent.notification_id],
        )
      ).rows.map((r) => r.channel);
    await waitFor(async () => (await recorded()).length === 2, { what: 'both channels recorded delivered' });
    // Give a redelivery of the request (the consumer retries a failed slice) time to happen.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(w.eventsOf(sent.notification_id)).toEqual([]);

    await w.restart();
    const marker = request({ user_id: user });
    await w.send(marker);
    await waitFor(
      () =>
        w.eventsOf(marker.notification_id).some((e) => e.name === 'Delivered:in_app') &&
        w.eventsOf(sent.notification_id).length >= 2,
      {
        what: 'the held-back events and the marker',
        describe: () => w.eventsOf(sent.notification_id).map((e) => e.name),
      },
    );
    const byMessageId = new Map(
      w.events.messages
        .filter((m) => m.value?.notification_id === sent.notification_id)
        .map((m) => [m.headers['message-id'], m.value?.event_id]),
    );
    const names = [...new Set(w.eventsOf(sent.notification_id).map((e) => e.name))].sort();
    expect(names).toEqual(['Delivered:in_app', 'Delivered:webhook']);
    // Copies (a relay's re-send, a redelivered request's re-enqueue) share the message id.
    expect(byMessageId.size).toBe(2);
    for (const [messageId, eventId] of byMessageId) expect(messageId).toBe(eventId);
    expect(await recorded()).toEqual(['in_app', 'webhook']);
    expect(hooks.received.filter((h) => h.body.notification_id === sent.notification_id)).toHaveLength(1);
    const { rows } = await w.pg.pool.query(`SELECT status FROM notifications WHERE id = $1`, [
      sent.notification_id,
    ]);
    expect(rows).toEqual([{ status: 'sent' }]);
  });
  it('dead-letters a channel that failed for good once, after a restart, when the first notifier died before the copy went out', async () => {
    hooks = await startWebhookReceiver('the-receiver-knows-another-secret');
    // The failure is recorded, but neither its event nor its dead letter reaches Kafka: as if the
    // notifier had died right after the commit.
    world = await startNotifierWorld(stack, {
      refuseEvents: true,
      refuseDeadLetters: true,
      env: { NOTIFIER_RETRY_MAX_ATTEMPTS: '1' },
    });
    const w = world;
    const user = await w.addUser({
      preferences: { quiet_hours: null, webhook_enabled: true, webhook_url: hooks.url },
    });
    const hook = request({ user_id: user, channels: ['webhook'], priority: 'critical' });
    await w.send(hook);
    const failed = async () =>
      (
        await w.pg.pool.query(
          `SELECT 1 FROM "${w.env.NOTIFIER_DB_SCHEMA}".notification_deliveries
            WHERE notification_id = $1 AND status = 'failed'`,
          [hook.notification_id],
        )
      ).rowCount === 1;
    await waitFor(failed, { what: 'the webhook recorded failed' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(w.dlq.messages).toHaveLength(0);

    await w.restart();
    const [letter] = await w.dlq.waitForCount(1, { timeoutMs: 30_000 });
    expect(letter?.key).toBe(hook.notification_id);
    expect(letter?.headers['notifier-channel']).toBe('webhook');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(w.dlq.messages).toHaveLength(1);
    expect(hooks.received).toHaveLength(1);
  });
});
