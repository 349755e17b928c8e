import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '../src/channels/signature.ts';

describe('webhook signature', () => {
  const body = '{"notification_id":"n1","title":"你好"}';
  const now = 1_780_000_000_000;

  it('is v1= and the hex HMAC-SHA256 of "<timestamp>.<body>", as the README recipe computes it', () => {
    const recipe = createHmac('sha256', 'secret').update(`${now}.${body}`).digest('hex');
    expect(signWebhook('secret', now, body)).toBe(`v1=${recipe}`);
  });

  it('verifies the right secret and refuses another secret, a changed body and an old timestamp', () => {
    const signature = signWebhook('secret', now, body);
    const check = (over: Partial<Parameters<typeof verifyWebhook>[0]>) =>
      verifyWebhook({ secret: 'secret', timestamp: String(now), signature, body, now, ...over });
    expect(check({})).toBe(true);
    expect(check({ secret: 'other' })).toBe(false);
    expect(check({ body: body.replace('n1', 'n2') })).toBe(false);
    expect(check({ now: now + 10 * 60_000 })).toBe(false);
    expect(check({ signature: undefined })).toBe(false);
  });
});
