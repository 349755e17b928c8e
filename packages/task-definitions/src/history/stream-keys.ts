import { createHash } from 'node:crypto';

/** The event store's longest stream id (`assertStreamId` of @openpenpal/event-store). */
const MAX_STREAM_ID_LENGTH = 500;
/** Starts the hashed form of a key; an ordinary key never starts with it. */
const HASHED = '#';
/** Control characters (C0, DEL, C1) and surrogates not part of a pair. */
const UNPRINTABLE = /[\p{Cc}\uD800-\uDFFF]/u;

/**
 * The part of a stream id after `<category>-` that stands for `key` (a message id, an execution id):
 * the key itself when it is ordinary, else `#` and the SHA-256 of its UTF-16 code units. Ordinary: not
 * empty, no control character or unpaired surrogate, not starting with `#`, and short enough for the
 * whole stream id to fit the store. The mapping is total (any string has a stream) and injective (an
 * ordinary key is itself; a hashed one starts with `#`, which no ordinary key does, and SHA-256 does
 * not collide in practice), and every id that was ever recordable before keeps its stream, unless it
 * started with `#` or held a control character other than NUL.
 */
export function streamKey(category: string, key: string): string {
  const ordinary =
    key.length > 0 &&
    category.length + 1 + key.length <= MAX_STREAM_ID_LENGTH &&
    !key.startsWith(HASHED) &&
    !UNPRINTABLE.test(key);
  // utf16le: injective on any JavaScript string, unpaired surrogates included (UTF-8 would replace them).
  return ordinary ? key : `${HASHED}${createHash('sha256').update(key, 'utf16le').digest('hex')}`;
}

/** Whether a stream id's tail (after `<category>-`) is a hashed key rather than the key itself. */
export function isHashedStreamKey(tail: string): boolean {
  return tail.startsWith(HASHED);
}
