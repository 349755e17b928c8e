import { dlqTopicName } from '@openpenpal/contracts';
import { errorCodeOf, toError } from '@openpenpal/errors';
import { createBackoff } from '@openpenpal/timing';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { DLQ_HEADERS } from '../headers.ts';
import type { EncodedBatch, Producer } from '../producer.ts';
import { waitHolding, type PartitionHold } from './hold.ts';
import type { ConsumerObserver } from './types.ts';

export interface DeadLetter {
  topic: string;
  partition: number;
  message: KafkaMessage;
  groupId: string;
  error: unknown;
  attempts: number;
}

/** Bounds the `dlq.*` headers so that they add at most about 6 KB to the original message. */
const MAX_STACK = 4_000;
const MAX_MESSAGE = 1_000;
/** What a dead letter keeps of a value too large for the DLQ topic (with its headers). */
export const DLQ_EXCERPT_BYTES = 64 * 1024;

function dlqHeaders(letter: DeadLetter, now: number): IHeaders {
  const error = toError(letter.error);
  return {
    ...letter.message.headers,
    [DLQ_HEADERS.errorCode]: errorCodeOf(letter.error),
    [DLQ_HEADERS.errorMessage]: error.message.slice(0, MAX_MESSAGE),
    [DLQ_HEADERS.errorStack]: (error.stack ?? '').slice(0, MAX_STACK),
    [DLQ_HEADERS.attempts]: String(letter.attempts),
    [DLQ_HEADERS.originalTopic]: letter.topic,
    [DLQ_HEADERS.originalPartition]: String(letter.partition),
    [DLQ_HEADERS.originalOffset]: letter.message.offset,
    [DLQ_HEADERS.originalTimestamp]: letter.message.timestamp,
    [DLQ_HEADERS.consumerGroup]: letter.groupId,
    [DLQ_HEADERS.failedAt]: new Date(now).toISOString(),
  };
}

function isTooLarge(error: unknown): boolean {
  const type = (error as { type?: unknown }).type;
  const text = `${typeof type === 'string' ? type : ''} ${toError(error).message}`;
  return /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|too large|larger than the max message size/i.test(text);
}

/**
 * The dead letter as a record for `<topic>.dlq` (the original key, value bytes and headers, plus
 * why it failed), for a caller that writes it in a transaction of its own — a domain outbox — so
 * that it cannot be lost between recording the failure and sending the copy.
 */
export function deadLetterRecord(letter: DeadLetter, now: number): EncodedBatch {
  return {
    topic: dlqTopicName(letter.topic),
    messages: [{ key: letter.message.key, value: letter.message.value, headers: dlqHeaders(letter, now) }],
  };
}

/**
 * Sends the original key, value bytes and headers to `<topic>.dlq`, with why it failed added as
 * headers. Throws when the DLQ write fails, so the caller does not commit past the message.
 *
 * A dead letter always fits: DLQ topics are provisioned to take a larger record than their source
 * topic, and should a broker still refuse one as too large, the value is replaced by its first
 * 64 KB with `dlq.value.truncated` and `dlq.value.bytes` headers (the original stays in the source
 * topic at the offset named in `dlq.original.offset`).
 */
export async function sendToDeadLetterTopic(
  producer: Producer,
  letter: DeadLetter,
  now: number,
): Promise<string> {
  const topic = dlqTopicName(letter.topic);
  const headers = dlqHeaders(letter, now);
  try {
    await producer.sendRaw(topic, [{ key: letter.message.key, value: letter.message.value, headers }]);
  } catch (error) {
    if (!isTooLarge(error) || letter.message.value === null) throw error;
    await producer.sendRaw(topic, [
      {
        key: letter.message.key,
        value: letter.message.value.subarray(0, DLQ_EXCERPT_BYTES),
        headers: {
          ...headers,
          [DLQ_HEADERS.valueTruncated]: 'true',
          [DLQ_HEADERS.valueBytes]: String(letter.message.value.length),
        },
      },
    ]);
  }
  return topic;
}

/**
 * Dead-letters a message, retrying the write with backoff for as long as it fails while holding
 * the partition (heartbeats keep the group stable), and telling the observer each failure so an
 * alert can fire. Only shutdown or losing the partition ends the wait (ProcessingAborted): the
 * message is then not committed and comes back.
 */
export async function deadLetterHolding(
  deps: { producer: Producer; observer: ConsumerObserver | undefined; now: () => number; maxDelayMs: number },
  letter: DeadLetter,
  hold: PartitionHold,
  onFailure: (error: unknown) => void,
): Promise<string> {
  const backoff = createBackoff({ initialDelayMs: 200, maxDelayMs: deps.maxDelayMs });
  for (;;) {
    try {
      return await sendToDeadLetterTopic(deps.producer, letter, deps.now());
    } catch (error) {
      deps.observer?.onDeadLetterFailed?.({ topic: letter.topic, errorCode: errorCodeOf(error) });
      onFailure(error);
      await waitHolding(hold, backoff.next());
    }
  }
}
