import { httpTracing, type OpsRoutesOptions } from '@openpenpal/service-kit';
import { LogController, fastify, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { apiApp } from './app.ts';
import type { ApiDeps } from './deps.ts';

/**
 * The fastify instance of the API with its server options (body limit, proxy trust, request ids)
 * and the app registered; it does not listen. The runtime listens with it on HTTP_HOST:HTTP_PORT
 * and closes it first at shutdown, after in-flight requests finish; tests call `inject()`.
 */
export function buildServer(options: {
  deps: ApiDeps;
  ops: OpsRoutesOptions;
  logger: Logger;
}): FastifyInstance {
  const { config } = options.deps;
  const loggerInstance: FastifyBaseLogger = options.logger.child({ component: 'http' });
  const server = fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.API_BODY_LIMIT_BYTES,
    trustProxy: config.API_TRUST_PROXY,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
  });
  server.setValidatorCompiler(validatorCompiler);
  server.setSerializerCompiler(serializerCompiler);
  // First, so its hooks see every route (HTTP server spans; nothing without a tracing SDK).
  void server.register(httpTracing);
  void server.register(apiApp, { deps: options.deps, ops: options.ops });
  return server;
}
