import { randomUUID } from 'node:crypto';
import type { AiReplyDelivered } from '@openpenpal/contracts';
import { waitFor } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import { resultOf, useSystem, waitForExecution } from '../src/context.ts';

const { api, kafka, platform } = useSystem();

describe('an AI pen-pal reply', () => {
  it('is written by the provider after its delay, announced, and its user notified', async () => {
    const user = await platform.createUser({ timezone: 'Europe/Berlin' });
    const letterId = await platform.createLetter({ userId: user, status: 'delivered' });
    const delivered = await kafka.watch(['openpenpal.ai.reply-delivered']);
    const requestedAt = Date.now();
    const dueAt = requestedAt + 6_000;
    // The AI service asks for a reply in 6 seconds (an absolute time: the short delay of the e2e run).
    await kafka.send('openpenpal.ai.reply-requests', 'AiReplyRequested', [
      {
        key: user,
        value: {
          eventId: randomUUID(),
          letterId,
          userId: user,
          persona: 'poet',
          timezone: 'Europe/Berlin',
          requestedAt,
          delay: { 'org.openpenpal.platform.AiReplyDelayAbsolute': { at: dueAt } },
        },
      },
    ]);

    await waitFor(
      async () =>
        (await platform.rows('SELECT 1 FROM openpenpal.ai_replies WHERE original_letter_id = $1', [letterId]))
          .length > 0,
      { what: `the ai_replies row of ${letterId}`, timeoutMs: 30_000, intervalMs: 200 },
    );
    const [event] = await delivered.waitFor((m) => m.key === user, { what: `AiReplyDelivered for ${user}` });
    const value = event?.value as AiReplyDelivered;
    expect(value).toMatchObject({
      originalLetterId: letterId,
      userId: user,
      persona: 'poet',
      fallback: false,
    });
    // Not before its time.
    expect(event?.timestamp).toBeGreaterThanOrEqual(dueAt);

    const reply = await platform.row<{
      status: string;
      reply_letter_id: string;
      sent_at: Date;
      provider: string;
    }>(
      'SELECT status, reply_letter_id, sent_at, provider FROM openpenpal.ai_replies WHERE original_letter_id = $1',
      [letterId],
    );
    expect(reply?.status).toBe('sent');
    expect(reply?.reply_letter_id).toBe(value.replyLetterId);
    const letter = await platform.row<{ type: string; reply_to: string; user_id: string; content: string }>(
      'SELECT type, reply_to, user_id, content FROM openpenpal.letters WHERE id = $1',
      [value.replyLetterId],
    );
    expect(letter).toMatchObject({ type: 'reply', reply_to: letterId });
    expect(letter?.content.length).toBeGreaterThan(0);

    await waitFor(
      async () =>
        (
          await platform.rows('SELECT 1 FROM openpenpal.notifications WHERE user_id = $1 AND type = $2', [
            user,
            'ai_reply_received',
          ])
        ).length === 1,
      { what: `the reply notification to ${user}`, timeoutMs: 30_000, intervalMs: 200 },
    );
    const execution = await waitForExecution(
      api,
      'task_id=ai_penpal_reply&limit=100',
      (e) => e.status === 'succeeded' && resultOf(e).ai_reply_id === value.aiReplyId,
      { what: `the reply execution of ${value.aiReplyId}` },
    );
    expect(execution.task_type).toBe('ai_penpal_reply');
  });
});
