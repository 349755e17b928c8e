import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of a webhook delivery. */
export const WEBHOOK_HEADERS = {
  /** Epoch milliseconds when the request was signed, as decimal text. */
  timestamp: 'x-openpenpal-timestamp',
  /** `v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>" under the shared secret>`. */
  signature: 'x-openpenpal-signature',
  notificationId: 'x-openpenpal-notification-id',
} as const;

/** The signature header's value for a body sent at `timestamp` (epoch ms). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
  return `v1=${mac}`;
}

/**
 * The receiver's check (the recipe in the README): recompute the HMAC over the timestamp header,
 * a dot and the raw body bytes, compare in constant time, and refuse a timestamp more than
 * `toleranceMs` away from now (a replayed request).
 */
export function verifyWebhook(options: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: string;
  now: number;
  toleranceMs?: number;
}): boolean {
  const { secret, timestamp, signature, body, now } = options;
  if (!timestamp || !signature || !/^\d{1,16}$/.test(timestamp)) return false;
  if (Math.abs(now - Number(timestamp)) > (options.toleranceMs ?? 5 * 60_000)) return false;
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
