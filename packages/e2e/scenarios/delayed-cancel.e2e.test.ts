import { randomUUID } from 'node:crypto';
import type { DelayedMessageEvent } from '@openpenpal/contracts';
import { describe, expect, it } from 'vitest';
import { useSystem } from '../src/context.ts';

const { api, kafka, platform } = useSystem();

describe('a delayed message', () => {
  it('cancelled through the API before its time is never published, and its history says so', async () => {
    const letterId = platform.id('never-released');
    const messageId = `future_letter_unlock:${letterId}`;
    const events = await kafka.watch(['scheduler.delay-events', 'openpenpal.letters.future-letters']);
    // Due 8 s after the watch is ready (joining a group can take seconds on a busy machine).
    const dueAt = Date.now() + 8_000;

    const scheduled = await api.expect<{ message_id: string }>(
      202,
      'POST',
      '/api/v1/scheduler/delayed-messages',
      {
        body: {
          message_id: messageId,
          due_at: new Date(dueAt).toISOString(),
          target_topic: 'openpenpal.letters.future-letters',
          key: letterId,
          value: {
            eventId: randomUUID(),
            occurredAt: Date.now(),
            event: {
              'org.openpenpal.platform.FutureLetterScheduled': {
                letterId,
                scheduledAt: dueAt,
                timezone: null,
              },
            },
          },
        },
      },
    );
    expect(scheduled.message_id).toBe(messageId);
    await events.waitFor(
      (m) =>
        m.key === messageId &&
        'org.openpenpal.scheduler.DelayedMessageScheduled' in (m.value as DelayedMessageEvent).event,
      { what: `DelayedMessageScheduled for ${messageId}` },
    );
    const pending = await api.expect<{ messages: { message_id: string }[] }>(
      200,
      'GET',
      '/api/v1/scheduler/delayed-messages?limit=500',
    );
    expect(pending.messages.map((m) => m.message_id)).toContain(messageId);

    await api.expect(
      202,
      'DELETE',
      `/api/v1/scheduler/delayed-messages/${encodeURIComponent(messageId)}?reason=e2e%20withdrawn`,
    );
    const [cancelled] = await events.waitFor(
      (m) =>
        m.key === messageId &&
        'org.openpenpal.scheduler.DelayedMessageCancelled' in (m.value as DelayedMessageEvent).event,
      { what: `DelayedMessageCancelled for ${messageId}` },
    );
    expect(cancelled).toBeDefined();
    const after = await api.expect<{ messages: { message_id: string }[] }>(
      200,
      'GET',
      '/api/v1/scheduler/delayed-messages?limit=500',
    );
    expect(after.messages.map((m) => m.message_id)).not.toContain(messageId);

    // Past its due time (plus the dispatcher's longest sleep), nothing reached the target topic.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now()) + 3_000));
    expect(
      events.messages.filter((m) => m.topic === 'openpenpal.letters.future-letters' && m.key === letterId),
    ).toHaveLength(0);
    expect(
      events.messages.filter(
        (m) =>
          m.key === messageId &&
          'org.openpenpal.scheduler.DelayedMessageDispatched' in (m.value as DelayedMessageEvent).event,
      ),
    ).toHaveLength(0);

    // The event store holds its history: scheduled, then cancelled (read as a checker would).
    const stored = await platform.rows<{ type: string }>(
      'SELECT type FROM event_store.events WHERE stream_id = $1 ORDER BY position',
      [`delayed-${messageId}`],
    );
    expect(stored.map((row) => row.type)).toEqual(['DelayedMessageScheduled', 'DelayedMessageCancelled']);
  });
});
