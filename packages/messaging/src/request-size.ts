import type { Message, TopicMessages } from 'kafkajs';

/**
 * The most bytes of records one produce request carries. A broker refuses a partition's record
 * batch over `message.max.bytes` (1 MiB by default) with MESSAGE_TOO_LARGE, and kafkajs puts all of
 * a send's messages for one partition into one batch: a send of many messages with one key (a
 * backlog of delayed messages for one target, a burst of events) would be refused however often it
 * is retried. Splitting every send so no request carries more than this keeps each batch under the
 * broker's default with room for the batch and record headers.
 */
const MAX_REQUEST_BYTES = 768 * 1024;

/** Framing of one record in a batch beyond its bytes (length, attributes, deltas, counts; generous). */
const RECORD_OVERHEAD = 24;

function bytes(value: string | Buffer | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/** What a record adds to a request: key, value, headers and framing. */
export function recordBytes(message: Message): number {
  let size = RECORD_OVERHEAD + bytes(message.key) + bytes(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    size += 2 + Buffer.byteLength(name);
    for (const part of Array.isArray(value) ? value : [value]) size += bytes(part);
  }
  return size;
}

/**
 * The batches of one send as consecutive requests of at most `maxBytes` each (a record bigger
 * than that goes alone). Order is kept: sent one after another, every partition receives its
 * messages in the order given. One request when everything fits, the usual case.
 */
export function splitBySize(
  batches: readonly TopicMessages[],
  maxBytes = MAX_REQUEST_BYTES,
): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let size = 0;
  for (const batch of batches) {
    let group: TopicMessages | undefined;
    for (const message of batch.messages) {
      const added = recordBytes(message);
      if (size > 0 && size + added > maxBytes) {
        requests.push(current);
        current = [];
        size = 0;
        group = undefined;
      }
      if (!group) {
        group = { topic: batch.topic, messages: [] };
        current.push(group);
      }
      group.messages.push(message);
      size += added;
    }
  }
  if (current.length > 0) requests.push(current);
  return requests;
}
