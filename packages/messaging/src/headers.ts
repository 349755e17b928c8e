import type { IHeaders } from 'kafkajs';

/** Header names the messaging layer writes and reads. */
export const HEADERS = {
  /** Stable id of a logical message: duplicates (redelivery, re-publish) carry the same one. */
  messageId: 'message-id',
  /** Root schema name of the value, for humans and tools; readers trust the fingerprint. */
  schema: 'schema',
} as const;

/** Headers added to a message sent to `<topic>.dlq`, next to its original headers. */
export const DLQ_HEADERS = {
  errorCode: 'dlq.error.code',
  errorMessage: 'dlq.error.message',
  errorStack: 'dlq.error.stack',
  attempts: 'dlq.attempts',
  originalTopic: 'dlq.original.topic',
  originalPartition: 'dlq.original.partition',
  originalOffset: 'dlq.original.offset',
  originalTimestamp: 'dlq.original.timestamp',
  consumerGroup: 'dlq.consumer.group',
  failedAt: 'dlq.failed.at',
  /** Present ('true') when the value is only an excerpt: the original was too large for the DLQ topic. */
  valueTruncated: 'dlq.value.truncated',
  /** The original value's size in bytes, with `valueTruncated`. */
  valueBytes: 'dlq.value.bytes',
} as const;

/** A header's value as text (the last one when a header repeats). */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  const last = Array.isArray(value) ? value.at(-1) : value;
  return last === undefined ? undefined : last.toString();
}

/** All headers as text, for handlers and logs. */
export function headersAsText(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers ?? {})) {
    const value = headerText(headers, name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}
