import { createHmac, timingSafeEqual } from 'node:crypto';
import { SchedulerError } from '@openpenpal/errors';
import type { Redis } from 'ioredis';

export const SIGNATURE_HEADER = 'x-signature';
export const TIMESTAMP_HEADER = 'x-signature-timestamp';

/** The signature of a request: HMAC-SHA256 over `<timestamp>.<raw body>`, hex, as `sha256=<hex>`. */
export function signEvent(secret: string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

type SignatureFailure = 'missing' | 'malformed' | 'expired' | 'mismatch';

export interface VerifiedEvent {
  signature: string;
  timestamp: number;
}

const refused = (reason: SignatureFailure, message: string) =>
  new SchedulerError('UNAUTHENTICATED', `event signature refused: ${message}`, { details: { reason } });

/**
 * Checks a signed request: both headers present, the timestamp (unix seconds) within `windowMs` of
 * now either way, and the signature equal (constant time) to ours. Throws UNAUTHENTICATED with the
 * reason in `details.reason`.
 */
export function verifySignature(options: {
  secret: string;
  windowMs: number;
  now: number;
  signature: unknown;
  timestamp: unknown;
  body: Buffer;
}): VerifiedEvent {
  const { signature, timestamp } = options;
  if (
    typeof signature !== 'string' ||
    typeof timestamp !== 'string' ||
    signature === '' ||
    timestamp === ''
  ) {
    throw refused('missing', `${SIGNATURE_HEADER} and ${TIMESTAMP_HEADER} are required`);
  }
  if (!/^\d{1,12}$/.test(timestamp) || !/^sha256=[0-9a-f]{64}$/.test(signature)) {
    throw refused('malformed', `${TIMESTAMP_HEADER} is unix seconds; ${SIGNATURE_HEADER} is sha256=<64 hex>`);
  }
  const at = Number(timestamp) * 1000;
  if (Math.abs(options.now - at) > options.windowMs) {
    throw refused('expired', `the timestamp is more than ${options.windowMs / 1000} s from now`);
  }
  const expected = Buffer.from(signEvent(options.secret, timestamp, options.body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw refused('mismatch', 'the signature does not match the body and timestamp');
  }
  return { signature, timestamp: at };
}

/**
 * Replay protection: a signature is accepted once. It is kept in Redis (SET NX) for twice the
 * window — a timestamp may be up to one window ahead or behind — after which the timestamp check
 * refuses it anyway. Returns false for a signature seen before.
 */
export async function claimSignature(redis: Redis, key: string, windowMs: number): Promise<boolean> {
  return (await redis.set(key, '1', 'PX', 2 * windowMs, 'NX')) === 'OK';
}
