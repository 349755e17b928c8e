import type { TaskTrigger } from '@openpenpal/contracts';
import { notificationId, resultEventId, type SentReply } from '@openpenpal/domain';
import type { EncodedBatch, Producer, TopicBinding } from '@openpenpal/messaging';
import type { Persona } from '../provider/personas.ts';

export interface ReplyBindings {
  delivered: TopicBinding<'AiReplyDelivered'>;
  notifications: TopicBinding<'NotificationRequested'>;
}

/** The outbox messages of one sent reply: AiReplyDelivered and the user's `ai_reply_received`. */
export function replyMessages(
  producer: Pick<Producer, 'encode'>,
  bindings: ReplyBindings,
  trigger: Pick<TaskTrigger, 'execution_id'>,
  reply: SentReply,
): EncodedBatch[] {
  // One event and one notification per request, whichever execution wrote the reply.
  const eventId = resultEventId('ai_reply_delivered', reply.id, '1');
  const dedupeKey = `ai_reply_received:${reply.id}`;
  const id = notificationId(dedupeKey);
  return [
    producer.encode(bindings.delivered, [
      {
        key: reply.userId,
        messageId: eventId,
        value: {
          eventId,
          aiReplyId: reply.id,
          originalLetterId: reply.letterId,
          replyLetterId: reply.replyLetterId,
          userId: reply.userId,
          persona: reply.persona as Persona,
          provider: reply.provider,
          fallback: reply.fallback,
          deliveredAt: reply.sentAt.getTime(),
          executionId: trigger.execution_id,
        },
      },
    ]),
    producer.encode(bindings.notifications, [
      {
        key: id,
        messageId: id,
        value: {
          notification_id: id,
          type: 'ai_reply_received',
          user_id: reply.userId,
          channels: [],
          priority: 'normal',
          // Template variables only: never the letter or the reply.
          data: { persona: reply.persona, letter_id: reply.replyLetterId, reply_to: reply.letterId },
          locale: null,
          execution_id: trigger.execution_id,
          dedupe_key: dedupeKey,
          requested_at: reply.sentAt.getTime(),
          not_before: null,
        },
      },
    ]),
  ];
}
