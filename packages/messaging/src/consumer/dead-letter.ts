import { dlqTopicName } from '@openpenpal/contracts';
import { errorCodeOf, toError } from '@openpenpal/errors';
import type { KafkaMessage } from 'kafkajs';
import { DLQ_HEADERS } from './headers.ts';
import type { Producer } from './producer.ts';

export interface DeadLetter {
  topic: string;
  partition: number;
  message: KafkaMessage;
  groupId: string;
  error: unknown;
  attempts: number;
}

const MAX_STACK = 8_000;

/**
 * Sends the original key, value bytes and headers to `<topic>.dlq`, with why it failed added as
 * headers. Throws when the DLQ write fails, so the caller does not commit past the message.
 */
export async function sendToDeadLetterTopic(
  producer: Producer,
  letter: DeadLetter,
  now: number,
): Promise<string> {
  const error = toError(letter.error);
  const topic = dlqTopicName(letter.topic);
  await producer.sendRaw(topic, [
    {
      key: letter.message.key,
      value: letter.message.value,
      headers: {
        ...letter.message.headers,
        [DLQ_HEADERS.errorCode]: errorCodeOf(letter.error),
        [DLQ_HEADERS.errorMessage]: error.message,
        [DLQ_HEADERS.errorStack]: (error.stack ?? '').slice(0, MAX_STACK),
        [DLQ_HEADERS.attempts]: String(letter.attempts),
        [DLQ_HEADERS.originalTopic]: letter.topic,
        [DLQ_HEADERS.originalPartition]: String(letter.partition),
        [DLQ_HEADERS.originalOffset]: letter.message.offset,
        [DLQ_HEADERS.originalTimestamp]: letter.message.timestamp,
        [DLQ_HEADERS.consumerGroup]: letter.groupId,
        [DLQ_HEADERS.failedAt]: new Date(now).toISOString(),
      },
    },
  ]);
  return topic;
}
