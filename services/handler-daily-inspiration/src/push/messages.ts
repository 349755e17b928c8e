import { notificationId, type InspirationUser } from '@openpenpal/domain';
import type { EncodedBatch, Producer, TopicBinding } from '@openpenpal/messaging';
import { builtinPrompt, promptLocale } from './prompts.ts';
import { PROVIDER_LANGUAGE, type ZonePrompt } from './zone-prompts.ts';

export interface PushContext {
  executionId: string;
  localDate: string;
  requestedAt: number;
  /** The zone's prompt of the day (the provider's for all, or the built-in set per user). */
  zonePrompt: ZonePrompt;
}

/** The dedupe key the notifier delivers once: one inspiration per user and local day. */
function inspirationDedupeKey(userId: string, localDate: string): string {
  return `daily_inspiration:${userId}:${localDate}`;
}

/**
 * The user's `daily_inspiration` request. Channels stay empty: the notifier sends it on the user's
 * `inspiration_channels` among the channels they have enabled (services/notifier/README.md).
 */
export function inspirationMessages(
  producer: Pick<Producer, 'encode'>,
  binding: TopicBinding<'NotificationRequested'>,
  context: PushContext,
  user: InspirationUser,
): EncodedBatch[] {
  const { zonePrompt } = context;
  const prompt =
    zonePrompt.source === 'provider'
      ? zonePrompt.prompt
      : builtinPrompt(context.localDate, user.userId, user.language);
  const dedupeKey = inspirationDedupeKey(user.userId, context.localDate);
  const id = notificationId(dedupeKey);
  return [
    producer.encode(binding, [
      {
        key: id,
        messageId: id,
        value: {
          notification_id: id,
          type: 'daily_inspiration',
          user_id: user.userId,
          channels: [],
          priority: 'normal',
          data: {
            theme: prompt.theme,
            prompt: prompt.prompt,
            style: prompt.style,
            tags: prompt.tags.join(','),
            local_date: context.localDate,
            source: zonePrompt.source,
          },
          // The prompt's language, so the title around it matches.
          locale: promptLocale(zonePrompt.source === 'provider' ? PROVIDER_LANGUAGE : user.language),
          execution_id: context.executionId,
          dedupe_key: dedupeKey,
          requested_at: context.requestedAt,
          not_before: null,
        },
      },
    ]),
  ];
}
