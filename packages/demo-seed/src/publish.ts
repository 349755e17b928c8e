import type { FutureLetterEvent } from '@openpenpal/contracts';
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
