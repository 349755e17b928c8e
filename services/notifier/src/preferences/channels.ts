import type { NotificationChannel, NotificationRequested } from '@openpenpal/contracts';
import type { Recipient } from './directory.ts';

const CHANNELS: readonly NotificationChannel[] = ['in_app', 'email', 'webhook'];

/** Which external channels this deployment can deliver on (SMTP host and webhook secret set). */
export interface ChannelAvailability {
  email: boolean;
  webhook: boolean;
}

function isChannel(value: string): value is NotificationChannel {
  return (CHANNELS as readonly string[]).includes(value);
}

/**
 * The channels a notification goes out on. A request's non-empty `channels` wins (as given, in
 * order, once each). Otherwise the user's preferences: in-app always; e-mail when enabled and the
 * user has an address; webhook when enabled with a URL; daily inspiration only on the channels the
 * user chose for it, among those (the inbox when none is left). A channel this deployment has not configured is left out of a
 * preference-based choice (an explicit request for it fails on delivery, so it is seen).
 */
export function chooseChannels(
  request: Pick<NotificationRequested, 'channels' | 'type'>,
  recipient: Recipient,
  available: ChannelAvailability,
): NotificationChannel[] {
  if (request.channels.length > 0) return [...new Set(request.channels)];
  const chosen: NotificationChannel[] = ['in_app'];
  if (available.email && recipient.emailEnabled && recipient.email) chosen.push('email');
  if (available.webhook && recipient.webhookEnabled && recipient.webhookUrl) chosen.push('webhook');
  if (request.type !== 'daily_inspiration') return chosen;
  const wanted = new Set(recipient.inspirationChannels.filter(isChannel));
  const inspiration = chosen.filter((channel) => wanted.has(channel));
  // Nothing left (e-mail chosen, but no address): the inbox still gets it.
  return inspiration.length > 0 ? inspiration : ['in_app'];
}
