import { SchedulerError } from '@openpenpal/errors';
import type { ChannelSender, OutboundNotification } from './delivery.ts';
import { signWebhook, WEBHOOK_HEADERS } from './signature.ts';

export interface WebhookOptions {
  /** Shared HMAC secret; without it the channel is unavailable. */
  secret: string | undefined;
  timeoutMs: number;
  clock: { now(): number };
}

function endpoint(notification: OutboundNotification): URL {
  const raw = notification.recipient.webhookUrl;
  let url: URL | undefined;
  try {
    url = raw ? new URL(raw) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new SchedulerError('VALIDATION_FAILED', 'the user has no valid http(s) webhook URL', {
      details: { field: 'webhook_url' },
    });
  }
  return url;
}

/** The JSON body: the rendered notification, never letter content (templates only). */
function webhookBody(notification: OutboundNotification): string {
  return JSON.stringify({
    notification_id: notification.notificationId,
    type: notification.type,
    user_id: notification.recipient.id,
    priority: notification.priority,
    locale: notification.locale,
    title: notification.title,
    body: notification.body,
    data: notification.data,
    requested_at: new Date(notification.requestedAt).toISOString(),
  });
}

/**
 * Signed HTTP POST (Node's fetch, undici, with keep-alive). A 2xx answer is a delivery; any other
 * status, a network error or no answer within the timeout is PROVIDER_FAILED (or TIMEOUT).
 */
export function createWebhookSender(options: WebhookOptions): ChannelSender {
  return {
    channel: 'webhook',
    breakerKey: (notification) => {
      try {
        return `webhook:${endpoint(notification).origin}`;
      } catch {
        return 'webhook';
      }
    },
    send: async (notification) => {
      if (!options.secret) {
        throw new SchedulerError('CONFIG_INVALID', 'NOTIFIER_WEBHOOK_SECRET is not set: webhooks are off');
      }
      const url = endpoint(notification);
      const body = webhookBody(notification);
      const timestamp = options.clock.now();
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(options.timeoutMs),
          headers: {
            'content-type': 'application/json',
            [WEBHOOK_HEADERS.timestamp]: String(timestamp),
            [WEBHOOK_HEADERS.signature]: signWebhook(options.secret, timestamp, body),
            [WEBHOOK_HEADERS.notificationId]: notification.notificationId,
          },
        });
      } catch (error) {
        const timedOut = (error as { name?: string }).name === 'TimeoutError';
        throw new SchedulerError(
          timedOut ? 'TIMEOUT' : 'PROVIDER_FAILED',
          timedOut
            ? `the webhook ${url.origin} did not answer within ${options.timeoutMs} ms`
            : `the webhook ${url.origin} is unreachable: ${(error as Error).message}`,
          { cause: error },
        );
      }
      // The body is read (and dropped) so the connection goes back to the pool.
      const text = await response.text().catch(() => '');
      if (response.status < 200 || response.status >= 300) {
        throw new SchedulerError(
          'PROVIDER_FAILED',
          `the webhook ${url.origin} answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
          { details: { status: response.status } },
        );
      }
      return response.headers.get('x-request-id');
    },
    close: () => Promise.resolve(),
  };
}
