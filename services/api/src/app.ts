import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { opsRoutes, type OpsRoutesOptions } from '@openpenpal/service-kit';
import type { FastifyPluginAsync, RouteOptions } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { ApiDeps } from './deps.ts';
import { errorResponses } from './http/errors.ts';
import { opsSchemas } from './http/ops-schemas.ts';
import { authPlugin, type Access } from './plugins/auth.ts';
import { bodyLimitPlugin } from './plugins/body-limit.ts';
import { consolePlugin } from './plugins/console.ts';
import { errorsPlugin } from './plugins/errors.ts';
import { securityPlugin } from './plugins/security.ts';
import { adminSchedulerRoutes } from './routes/admin-scheduler.ts';
import { delayedRoutes } from './routes/delayed.ts';
import { executionRoutes } from './routes/executions.ts';
import { inboundRoutes } from './routes/inbound.ts';
import { signedEventRoutes } from './routes/signed-events.ts';
import { taskRoutes } from './routes/tasks.ts';

export interface ApiAppOptions {
  deps: ApiDeps;
  ops: OpsRoutesOptions;
}

const SECURITY: Record<Exclude<Access, 'public'>, Record<string, string[]>[]> = {
  read: [{ bearerAuth: [] }],
  write: [{ bearerAuth: [] }],
  service: [{ apiKey: [] }, { bearerAuth: [] }],
  signed: [{ eventSignature: [], eventTimestamp: [] }],
};

const ROLE_TEXT: Record<Exclude<Access, 'public'>, string> = {
  read: 'Roles: platform_admin, super_admin, courier_level3, courier_level4.',
  write: 'Roles: platform_admin, super_admin.',
  service: 'A service API key (X-Api-Key), or a bearer token with platform_admin or super_admin.',
  signed: 'HMAC-SHA256 signature over "<timestamp>.<raw body>" (X-Signature, X-Signature-Timestamp).',
};

/** Access, security and the shared error responses of each route, before @fastify/swagger reads it. */
function describeRoute(route: RouteOptions): void {
  const isPublicPage = route.url.startsWith('/docs') || route.url.startsWith('/console');
  if (isPublicPage || (route.method === 'OPTIONS' && route.url === '*')) {
    route.config = { ...route.config, access: 'public' };
    return;
  }
  const ops = opsSchemas[route.url];
  if (ops !== undefined) {
    route.config = { ...route.config, access: 'public' };
    route.schema = { ...ops, ...route.schema };
    return;
  }
  const access = route.config?.access;
  if (access === undefined || access === 'public') return;
  const schema = route.schema ?? {};
  route.schema = {
    ...schema,
    security: SECURITY[access],
    description: [schema.description, ROLE_TEXT[access]].filter(Boolean).join('\n\n'),
    response: {
      ...errorResponses(400, 401, 403, 429, 500, 503),
      ...(schema.response as Record<number, unknown> | undefined),
    },
  };
}

/**
 * The admin API as a plugin that never listens (the runtime, or a test's `inject()`, serves it):
 * plugins first — errors, body limit, security headers/CORS/rate limit, authentication, OpenAPI and its UI —
 * then the ops routes and the route families. Every route has a zod schema for its request and
 * responses; the OpenAPI document at /docs/json is generated from them.
 */
const app: FastifyPluginAsync<ApiAppOptions> = async (fastify, { deps, ops }) => {
  fastify.addHook('onRoute', describeRoute);
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || route.startsWith('/docs') || route.startsWith('/console')) return;
    deps.metrics.request(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  await fastify.register(errorsPlugin);
  await fastify.register(bodyLimitPlugin);
  await fastify.register(authPlugin, { config: deps.config });
  await fastify.register(securityPlugin, { config: deps.config });
  await fastify.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'OpenPenPal Task Scheduler admin API',
        description:
          'Tasks, executions, replay, delayed messages, pause/resume, inbound requests over HTTP and ' +
          'signed event triggers. Errors are `{error, code, details}`; see docs/api.md.',
        version: '1.0.0',
      },
      servers: [{ url: 'http://127.0.0.1:8080', description: 'local' }],
      tags: [
        { name: 'tasks', description: 'Task definitions (event-sourced) and run-now' },
        { name: 'executions', description: 'Execution history, re-run and re-publish' },
        { name: 'delayed-messages', description: "The delay queue's messages" },
        { name: 'scheduler', description: 'Leader, pause and resume, status' },
        { name: 'inbound', description: 'Requests for services that cannot produce to Kafka' },
        { name: 'events', description: 'Signed event triggers' },
        { name: 'ops', description: 'Health, readiness and metrics' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
          eventSignature: { type: 'apiKey', in: 'header', name: 'X-Signature' },
          eventTimestamp: { type: 'apiKey', in: 'header', name: 'X-Signature-Timestamp' },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  if (deps.config.API_DOCS_ENABLED) {
    await fastify.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });
  }
  await fastify.register(consolePlugin);
  await fastify.register(opsRoutes, ops);
  await fastify.register(taskRoutes, { deps });
  await fastify.register(executionRoutes, { deps });
  await fastify.register(delayedRoutes, { deps });
  await fastify.register(adminSchedulerRoutes, { deps });
  await fastify.register(inboundRoutes, { deps });
  await fastify.register(signedEventRoutes, { deps });
};

export const apiApp = fastifyPlugin(app, { name: 'openpenpal-api' });
