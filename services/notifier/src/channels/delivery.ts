import type { NotificationChannel, NotificationPriority } from '@openpenpal/contracts';
import type { Recipient } from '../preferences/directory.ts';

/** What a channel sends: the rendered notification for one recipient. */
export interface OutboundNotification {
  notificationId: string;
  type: string;
  priority: NotificationPriority;
  recipient: Recipient;
  title: string;
  body: string;
  locale: string;
  data: Readonly<Record<string, string>>;
  requestedAt: number;
}

/** One try on one external channel: resolves with the provider's id, or rejects with a SchedulerError. */
export interface ChannelSender {
  channel: Exclude<NotificationChannel, 'in_app'>;
  /** The breaker this notification's try goes through (`email`, `webhook:<origin>`). */
  breakerKey(notification: OutboundNotification): string;
  send(notification: OutboundNotification): Promise<string | null>;
  close(): Promise<void>;
}
