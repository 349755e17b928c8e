import type { TaskTrigger } from '@openpenpal/contracts';
import { notificationId, resultEventId, type ReleasedLetter } from '@openpenpal/domain';
import type { EncodedBatch, Producer, TopicBinding } from '@openpenpal/messaging';

export interface ReleaseBindings {
  released: TopicBinding<'FutureLetterReleased'>;
  notifications: TopicBinding<'NotificationRequested'>;
}

/**
 * Who hears of a release (openpenpal-domain.md §4): the recipient; the owner for a self-addressed
 * letter (`visibility = self` or no recipient); nobody for a public letter.
 */
function releaseAudience(letter: ReleasedLetter): string | null {
  if (letter.visibility === 'public') return null;
  if (letter.visibility === 'self' || letter.recipientId === null) return letter.ownerId;
  return letter.recipientId;
}

/** The outbox messages of one release: FutureLetterReleased, and the notification when someone hears of it. */
export function releaseMessages(
  producer: Pick<Producer, 'encode'>,
  bindings: ReleaseBindings,
  trigger: Pick<TaskTrigger, 'execution_id'>,
  letter: ReleasedLetter,
): EncodedBatch[] {
  const eventId = resultEventId(
    'future_letter_released',
    letter.letterId,
    String(letter.scheduledAt.getTime()),
  );
  const batches = [
    producer.encode(bindings.released, [
      {
        key: letter.letterId,
        messageId: eventId,
        value: {
          eventId,
          letterId: letter.letterId,
          scheduledAt: letter.scheduledAt.getTime(),
          releasedAt: letter.publishedAt.getTime(),
          recipientId: letter.recipientId,
          ownerId: letter.ownerId,
          executionId: trigger.execution_id,
        },
      },
    ]),
  ];
  const userId = releaseAudience(letter);
  if (userId !== null) {
    const dedupeKey = `future_letter_unlocked:${letter.letterId}:${userId}`;
    const id = notificationId(dedupeKey);
    batches.push(
      producer.encode(bindings.notifications, [
        {
          key: id,
          messageId: id,
          value: {
            notification_id: id,
            type: 'future_letter_unlocked',
            user_id: userId,
            channels: [],
            priority: 'normal',
            // Template variables only: never the letter's content.
            data: { letter_id: letter.letterId, scheduled_at: letter.scheduledAt.toISOString() },
            locale: null,
            execution_id: trigger.execution_id,
            dedupe_key: dedupeKey,
            requested_at: letter.publishedAt.getTime(),
            not_before: null,
          },
        },
      ]),
    );
  }
  return batches;
}
