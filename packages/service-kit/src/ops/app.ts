import fastifyPlugin from 'fastify-plugin';
import {
  LogController,
  fastify,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginCallback,
} from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { httpTracing } from './http-tracing.ts';
import { cachedCheck, type CheckResult, type ReadinessCheck } from './readiness.ts';

export interface OpsRoutesOptions {
  registry: Registry;
  /** The checks, or a function giving the current list (a service adds checks as it starts). */
  checks: readonly ReadinessCheck[] | (() => readonly ReadinessCheck[]);
  /** Per-check timeout and cache (defaults 2 s and 1 s). */
  checkTimeoutMs?: number;
  checkCacheMs?: number;
  /** Extra fields of the /readyz answer (a ticker's role, say). */
  status?: () => Record<string, unknown>;
}

/**
 * The operations routes every service serves: `/healthz` (the process runs), `/readyz` (each
 * dependency check passes within its timeout; 503 with the failing names and reasons otherwise)
 * and `/metrics` (Prometheus text). A plugin: the admin API registers it in its own app, services
 * without an API serve it alone (`buildOpsApp`).
 */
const routes: FastifyPluginCallback<OpsRoutesOptions> = (app, options, done) => {
  const cached = new WeakMap<ReadinessCheck, ReturnType<typeof cachedCheck>>();
  const timing = {
    ...(options.checkTimeoutMs === undefined ? {} : { timeoutMs: options.checkTimeoutMs }),
    ...(options.checkCacheMs === undefined ? {} : { cacheMs: options.checkCacheMs }),
  };
  const current = () => (typeof options.checks === 'function' ? options.checks() : options.checks);
  const checkOf = (check: ReadinessCheck) => {
    let entry = cached.get(check);
    if (!entry) {
      entry = cachedCheck(check, timing);
      cached.set(check, entry);
    }
    return entry;
  };
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const results: CheckResult[] = await Promise.all(current().map((c) => checkOf(c).run()));
    const failing = results.filter((r) => !r.ok);
    return reply.code(failing.length === 0 ? 200 : 503).send({
      status: failing.length === 0 ? 'ready' : 'not_ready',
      checks: Object.fromEntries(results.map((r) => [r.name, r.ok])),
      ...(failing.length > 0 ? { reasons: Object.fromEntries(failing.map((r) => [r.name, r.reason])) } : {}),
      ...options.status?.(),
    });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(options.registry.contentType).send(await options.registry.metrics()),
  );
  done();
};

export const opsRoutes = fastifyPlugin(routes, { name: 'openpenpal-ops-routes' });

/** A fastify app with the ops routes that does not listen (tests call `inject()` on it). */
export function buildOpsApp(options: OpsRoutesOptions & { logger: Logger }): FastifyInstance {
  // Typed as fastify's logger interface so the instance gets the default FastifyInstance type.
  const httpLogger: FastifyBaseLogger = options.logger.child({ component: 'http' });
  const app = fastify({
    loggerInstance: httpLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  void app.register(httpTracing);
  void app.register(opsRoutes, options);
  return app;
}
