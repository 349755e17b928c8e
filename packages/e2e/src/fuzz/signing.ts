import { createHmac } from 'node:crypto';
import type { EventSigner } from './api-cases.ts';

/** Signs as another OpenPenPal service does (docs/api.md): HMAC-SHA256 over `<unix seconds>.<raw body>`. */
export function eventSigner(secret: string): EventSigner {
  return (body, timestampSeconds = Math.floor(Date.now() / 1000)) => {
    const timestamp = String(timestampSeconds);
    const digest = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
    return { 'x-signature-timestamp': timestamp, 'x-signature': `sha256=${digest}` };
  };
}
