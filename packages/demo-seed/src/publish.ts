import type { AiReplyRequested, FutureLetterEvent } from '@openpenpal/contracts';
import { resultEventId } from '@openpenpal/domain';
import type { Producer, TopicBinding } from '@openpenpal/messaging';

/**
 * What the letter service would publish for the demo's future letters: FutureLetterScheduled, with
 * an event id derived from the letter and its time (a second seeding repeats the same event).
 */
export async function publishFutureLetterEvents(
  producer: Pick<Producer, 'send'>,
  binding: TopicBinding<'FutureLetterEvent'>,
  letters: readonly { letterId: string; scheduledAt: Date }[],
  now: number,
): Promise<void> {
  if (letters.length === 0) return;
  await producer.send(
    binding,
    letters.map((letter) => {
      const eventId = resultEventId(
        'demo_future_letter_scheduled',
        letter.letterId,
        String(letter.scheduledAt.getTime()),
      );
      const value: FutureLetterEvent = {
        eventId,
        occurredAt: now,
        event: {
          'org.openpenpal.platform.FutureLetterScheduled': {
            letterId: letter.letterId,
            scheduledAt: letter.scheduledAt.getTime(),
            timezone: 'Asia/Shanghai',
          },
        },
      };
      return { key: letter.letterId, messageId: eventId, value };
    }),
  );
}

/**
 * What the AI service would publish when the demo's user writes to the poet: a reply 3 minutes after
 * the letter, in the user's zone. The event id and time are the first seeding's, so a second seeding
 * repeats the same request, which the handler drops.
 */
export async function publishAiReplyRequest(
  producer: Pick<Producer, 'send'>,
  binding: TopicBinding<'AiReplyRequested'>,
  letter: { letterId: string; userId: string; writtenAt: Date },
): Promise<void> {
  const eventId = resultEventId(
    'demo_ai_reply_requested',
    letter.letterId,
    String(letter.writtenAt.getTime()),
  );
  const value: AiReplyRequested = {
    eventId,
    letterId: letter.letterId,
    userId: letter.userId,
    persona: 'poet',
    timezone: 'Asia/Shanghai',
    requestedAt: letter.writtenAt.getTime(),
    delay: { 'org.openpenpal.platform.AiReplyDelayRelative': { days: 0, hours: 0, minutes: 3 } },
  };
  await producer.send(binding, [{ key: letter.userId, messageId: eventId, value }]);
}
