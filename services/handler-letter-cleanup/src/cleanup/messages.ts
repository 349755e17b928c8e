import { notificationId, resultEventId, type CleanedLetter } from '@openpenpal/domain';
import type { EncodedBatch, Producer, TopicBinding } from '@openpenpal/messaging';

export interface CleanupBindings {
  events: TopicBinding<'LetterMovedToCleanup'>;
  notifications: TopicBinding<'NotificationRequested'>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The outbox messages of one moved letter: LetterMovedToCleanup and the author's one notice. */
export function cleanupMessages(
  producer: Pick<Producer, 'encode'>,
  bindings: CleanupBindings,
  context: { executionId: string; deletionDays: number },
  letter: CleanedLetter,
): EncodedBatch[] {
  const cleanupAt = letter.cleanupAt.getTime();
  const deletionAt = cleanupAt + context.deletionDays * DAY_MS;
  const eventId = resultEventId('letter_moved_to_cleanup', letter.letterId, String(cleanupAt));
  // Once per letter, whatever re-runs: the notifier delivers one notification per dedupe key.
  const dedupeKey = `letter_cleanup_notice:${letter.letterId}`;
  const id = notificationId(dedupeKey);
  return [
    producer.encode(bindings.events, [
      {
        key: letter.letterId,
        messageId: eventId,
        value: {
          eventId,
          letterId: letter.letterId,
          authorId: letter.authorId,
          previousStatus: letter.previousStatus,
          cleanupAt,
          permanentDeletionAt: deletionAt,
          executionId: context.executionId,
        },
      },
    ]),
    producer.encode(bindings.notifications, [
      {
        key: id,
        messageId: id,
        value: {
          notification_id: id,
          type: 'letter_cleanup_notice',
          user_id: letter.authorId,
          channels: [],
          priority: 'low',
          data: {
            letter_id: letter.letterId,
            deletion_date: new Date(deletionAt).toISOString().slice(0, 10),
          },
          locale: null,
          execution_id: context.executionId,
          dedupe_key: dedupeKey,
          requested_at: cleanupAt,
          not_before: null,
        },
      },
    ]),
  ];
}
