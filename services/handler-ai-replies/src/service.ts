import { topicSpec } from '@openpenpal/contracts';
import { createAiReplyRepository, openDomain, startInboundConsumer } from '@openpenpal/domain';
import { defineHandlerService } from '@openpenpal/handler-kit';
import { aiReplySettings } from './config.ts';
import { handleReplyRequest } from './inbound/reply-requests.ts';
import { createChatClient } from './provider/chat-client.ts';
import { createGenerator } from './provider/generator.ts';
import { createReplyHandler } from './reply/handler.ts';
import { createReplyMetrics } from './reply/metrics.ts';

/**
 * handler-ai-penpal-reply: the kit runs reply triggers (exact and the hourly sweep); this service
 * also consumes AiReplyRequested from the AI service and relays the domain outbox.
 */
export const aiRepliesService = defineHandlerService(
  {
    taskType: 'ai_penpal_reply',
    create: async (ctx, kit) => {
      const { config } = ctx;
      const { pool, schema } = await openDomain(ctx);
      const repository = createAiReplyRepository({ pool, schema });
      const metrics = createReplyMetrics(ctx.metrics.registry, repository, kit.clock);
      const baseUrl = config.HANDLER_AI_PENPAL_REPLY_PROVIDER_BASE_URL;
      if (!baseUrl) ctx.logger.warn('no AI provider configured: every reply is the persona template');
      const generator = createGenerator({
        chat: baseUrl
          ? createChatClient({
              baseUrl,
              model: config.HANDLER_AI_PENPAL_REPLY_PROVIDER_MODEL,
              apiKey: config.HANDLER_AI_PENPAL_REPLY_PROVIDER_API_KEY,
              maxTokens: config.HANDLER_AI_PENPAL_REPLY_PROVIDER_MAX_TOKENS,
            })
          : undefined,
        providerName: config.HANDLER_AI_PENPAL_REPLY_PROVIDER_MODEL,
        timeoutMs: config.HANDLER_AI_PENPAL_REPLY_PROVIDER_TIMEOUT_MS,
        maxAttempts: config.HANDLER_AI_PENPAL_REPLY_PROVIDER_MAX_ATTEMPTS,
        retryInitialDelayMs: config.HANDLER_AI_PENPAL_REPLY_PROVIDER_RETRY_INITIAL_DELAY_MS,
        retryMaxDelayMs: config.HANDLER_AI_PENPAL_REPLY_PROVIDER_RETRY_MAX_DELAY_MS,
        breakerThreshold: config.HANDLER_AI_PENPAL_REPLY_BREAKER_THRESHOLD,
        breakerHalfOpenAfterMs: config.HANDLER_AI_PENPAL_REPLY_BREAKER_HALF_OPEN_AFTER_MS,
        onBreakerState: (state) => {
          metrics.breaker(state);
          ctx.logger.warn({ state }, 'AI provider circuit breaker changed state');
        },
      });
      await startInboundConsumer(ctx, {
        name: 'reply-requests',
        events: { topic: config.HANDLER_AI_PENPAL_REPLY_REQUESTS_TOPIC, schema: 'AiReplyRequested' },
        rejectionsTopic: config.HANDLER_AI_PENPAL_REPLY_REJECTIONS_TOPIC,
        clock: kit.clock,
        concurrency: config.HANDLER_CONCURRENCY,
        handler: (tools) => (message) =>
          handleReplyRequest(
            {
              repository,
              delay: kit.delay,
              triggers: { topic: config.HANDLER_TRIGGER_TOPIC, schema: 'TaskTrigger' },
              task: {
                id: config.HANDLER_AI_PENPAL_REPLY_TASK_ID,
                maxRetries: config.HANDLER_AI_PENPAL_REPLY_MAX_RETRIES,
                timeoutSecs: config.HANDLER_AI_PENPAL_REPLY_TIMEOUT_SECS,
              },
              limits: {
                dailyQuota: config.HANDLER_AI_PENPAL_REPLY_DAILY_QUOTA,
                cooldownHours: config.HANDLER_AI_PENPAL_REPLY_COOLDOWN_HOURS,
                defaultQuietHours: config.HANDLER_AI_PENPAL_REPLY_DEFAULT_QUIET_HOURS,
              },
              ...tools,
            },
            message,
          ),
      });
      return createReplyHandler({
        repository,
        generator,
        producer: ctx.producer,
        bindings: {
          delivered: { topic: config.HANDLER_AI_PENPAL_REPLY_DELIVERED_TOPIC, schema: 'AiReplyDelivered' },
          notifications: {
            topic: config.HANDLER_AI_PENPAL_REPLY_NOTIFICATIONS_TOPIC,
            schema: 'NotificationRequested',
          },
        },
        metrics,
        clock: kit.clock,
        claimMs: config.HANDLER_AI_PENPAL_REPLY_CLAIM_MS,
        concurrency: config.HANDLER_AI_PENPAL_REPLY_GENERATION_CONCURRENCY,
      });
    },
  },
  {
    httpPort: 8_111,
    config: aiReplySettings,
    topics: (config) => [
      {
        spec: topicSpec('openpenpal.ai.reply-requests'),
        name: config.HANDLER_AI_PENPAL_REPLY_REQUESTS_TOPIC,
      },
      {
        spec: topicSpec('openpenpal.ai.reply-delivered'),
        name: config.HANDLER_AI_PENPAL_REPLY_DELIVERED_TOPIC,
      },
      {
        spec: topicSpec('openpenpal.scheduler.inbound-rejections'),
        name: config.HANDLER_AI_PENPAL_REPLY_REJECTIONS_TOPIC,
      },
      {
        spec: topicSpec('scheduler.notifications.requested'),
        name: config.HANDLER_AI_PENPAL_REPLY_NOTIFICATIONS_TOPIC,
      },
    ],
  },
);
