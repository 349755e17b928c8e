import { SchedulerError } from '@openpenpal/errors';
import nodemailer from 'nodemailer';
import type { ChannelSender } from './delivery.ts';

export interface SmtpOptions {
  host: string;
  port: number;
  /** `tls`: TLS from the first byte (465); `starttls`: upgrade required; `none`: plain (a local relay). */
  tls: 'tls' | 'starttls' | 'none';
  rejectUnauthorized: boolean;
  user: string | undefined;
  password: string | undefined;
  from: string;
  timeoutMs: number;
  poolSize: number;
}

// SMTP reply codes 5xx are permanent (a refused address); everything else may pass.
function isPermanent(error: unknown): boolean {
  const code = (error as { responseCode?: unknown }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/** E-mail over SMTP with nodemailer's pooled transport. */
export function createEmailSender(options: SmtpOptions): ChannelSender {
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: options.poolSize,
    host: options.host,
    port: options.port,
    secure: options.tls === 'tls',
    requireTLS: options.tls === 'starttls',
    ignoreTLS: options.tls === 'none',
    tls: { rejectUnauthorized: options.rejectUnauthorized },
    ...(options.user ? { auth: { user: options.user, pass: options.password ?? '' } } : {}),
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  });
  return {
    channel: 'email',
    breakerKey: () => 'email',
    send: async (notification) => {
      const to = notification.recipient.email;
      if (!to) {
        throw new SchedulerError('VALIDATION_FAILED', 'the user has no e-mail address', {
          details: { field: 'email' },
        });
      }
      try {
        const info = (await transport.sendMail({
          from: options.from,
          to,
          subject: notification.title,
          text: notification.body,
          headers: { 'X-OpenPenPal-Notification-Id': notification.notificationId },
        })) as { messageId?: string };
        return info.messageId ?? null;
      } catch (error) {
        const message = `SMTP ${options.host}:${options.port} refused the message: ${(error as Error).message}`;
        if (isPermanent(error)) {
          throw new SchedulerError('NON_RETRYABLE_FAILURE', message, { cause: error });
        }
        throw new SchedulerError('PROVIDER_FAILED', message, { cause: error });
      }
    },
    close: () => {
      transport.close();
      return Promise.resolve();
    },
  };
}
