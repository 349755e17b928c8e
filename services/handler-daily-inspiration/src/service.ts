import { topicSpec } from '@openpenpal/contracts';
import { createInspirationRepository, openDomain } from '@openpenpal/domain';
import { defineHandlerService } from '@openpenpal/handler-kit';
import { inspirationSettings } from './config.ts';
import { createPromptProvider } from './provider/prompt-provider.ts';
import { createPushHandler } from './push/handler.ts';
import { createZonePrompts } from './push/zone-prompts.ts';

/** handler-writing-inspiration-push: the kit runs the quarter-hourly trigger; this service relays the domain outbox too. */
export const inspirationService = defineHandlerService(
  {
    taskType: 'writing_inspiration_push',
    create: async (ctx, kit) => {
      const { config } = ctx;
      const { pool, schema } = await openDomain(ctx);
      const baseUrl = config.HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_BASE_URL;
      const provider =
        baseUrl === undefined
          ? undefined
          : createPromptProvider({
              baseUrl,
              model: config.HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_MODEL,
              apiKey: config.HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_API_KEY,
              timeoutMs: config.HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_TIMEOUT_MS,
              maxAttempts: config.HANDLER_WRITING_INSPIRATION_PUSH_PROVIDER_MAX_ATTEMPTS,
              breakerThreshold: config.HANDLER_WRITING_INSPIRATION_PUSH_BREAKER_THRESHOLD,
              breakerHalfOpenAfterMs: config.HANDLER_WRITING_INSPIRATION_PUSH_BREAKER_HALF_OPEN_AFTER_MS,
            });
      return createPushHandler({
        repository: createInspirationRepository({ pool, schema }),
        producer: ctx.producer,
        notifications: {
          topic: config.HANDLER_WRITING_INSPIRATION_PUSH_NOTIFICATIONS_TOPIC,
          schema: 'NotificationRequested',
        },
        clock: kit.clock,
        registry: ctx.metrics.registry,
        batchSize: config.HANDLER_WRITING_INSPIRATION_PUSH_BATCH,
        prompts: createZonePrompts({ pool, schema, provider }),
      });
    },
  },
  {
    httpPort: 8_114,
    config: inspirationSettings,
    topics: (config) => [
      {
        spec: topicSpec('scheduler.notifications.requested'),
        name: config.HANDLER_WRITING_INSPIRATION_PUSH_NOTIFICATIONS_TOPIC,
      },
    ],
  },
);
