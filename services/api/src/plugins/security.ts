import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import { SchedulerError } from '@openpenpal/errors';
import type { FastifyPluginAsync } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { ApiConfig } from '../config.ts';

/**
 * Security headers (helmet), CORS for the configured origins only (none by default), and a rate
 * limit per client: per authenticated principal (a user, a service key) and per address otherwise.
 * The limit is checked after authentication, so one client cannot use up another's allowance.
 */
const security: FastifyPluginAsync<{ config: ApiConfig }> = async (app, { config }) => {
  await app.register(fastifyHelmet, {
    // The docs UI (swagger-ui) sets its own policy on its pages (staticCSP).
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'self'"], frameAncestors: ["'none'"] },
    },
  });
  await app.register(fastifyCors, {
    origin: config.API_CORS_ORIGINS.length === 0 ? false : config.API_CORS_ORIGINS,
    methods: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'Idempotency-Key', 'X-Api-Key'],
    exposedHeaders: ['ETag'],
  });
  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'preHandler',
    max: config.API_RATE_LIMIT_MAX,
    timeWindow: config.API_RATE_LIMIT_WINDOW_MS,
    keyGenerator: (request) =>
      request.principal ? `${request.principal.kind}:${request.principal.id}` : `ip:${request.ip}`,
    allowList: (request) => request.routeOptions.config.access === 'public',
    errorResponseBuilder: (_request, context) =>
      Object.assign(
        new SchedulerError('RATE_LIMITED', `rate limit reached; retry in ${context.after}`, {
          details: { limit: context.max, retry_after_ms: context.ttl },
        }),
        { statusCode: 429 },
      ),
  });
};

export const securityPlugin = fastifyPlugin(security, { name: 'openpenpal-api-security' });
