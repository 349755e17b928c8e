import { isSchedulerError } from '@openpenpal/errors';
import { describe, expect, it } from 'vitest';
import { signEvent, verifySignature } from '../src/commands/signatures.ts';

const secret = 'event-signing-secret-0123456789abcdefghij';
const body = Buffer.from('{"event_id":"e-1","task_id":"t-1"}');
const now = Date.parse('2026-12-02T09:00:00Z');
const ts = String(now / 1000);

function reasonOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return isSchedulerError(error) ? error.details.reason : error;
  }
  return 'accepted';
}

const verify = (overrides: Partial<Parameters<typeof verifySignature>[0]>) =>
  verifySignature({
    secret,
    windowMs: 300_000,
    now,
    signature: signEvent(secret, ts, body),
    timestamp: ts,
    body,
    ...overrides,
  });

describe('event signatures', () => {
  it('accepts HMAC-SHA256 over "<timestamp>.<body>" within the window either way', () => {
    expect(reasonOf(() => verify({}))).toBe('accepted');
    const early = String(now / 1000 + 299);
    expect(reasonOf(() => verify({ timestamp: early, signature: signEvent(secret, early, body) }))).toBe(
      'accepted',
    );
  });

  it('refuses a missing, malformed, expired or mismatching signature, naming why', () => {
    expect(reasonOf(() => verify({ signature: undefined }))).toBe('missing');
    expect(reasonOf(() => verify({ timestamp: 'yesterday' }))).toBe('malformed');
    expect(reasonOf(() => verify({ signature: 'md5=abc' }))).toBe('malformed');
    const old = String(now / 1000 - 301);
    expect(reasonOf(() => verify({ timestamp: old, signature: signEvent(secret, old, body) }))).toBe(
      'expired',
    );
    expect(reasonOf(() => verify({ body: Buffer.from('{"event_id":"e-2","task_id":"t-1"}') }))).toBe(
      'mismatch',
    );
    expect(
      reasonOf(() => verify({ signature: signEvent('another-secret-another-secret-another', ts, body) })),
    ).toBe('mismatch');
  });
});
