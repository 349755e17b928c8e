import { fastify, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  /** Resolves true when the dependency is usable; false or a rejection means not ready. */
  check(): Promise<boolean> | boolean;
}

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  checks: readonly ReadinessCheck[];
  logger: Logger;
  /** Extra routes (e.g. a service-specific status page). */
  extend?: (app: FastifyInstance) => void;
}

export interface OpsServer {
  app: FastifyInstance;
  /** The address it listens on (port 0 picks a free one). */
  url(): string;
  close(): Promise<void>;
}

/**
 * The operations endpoints every service serves: `/healthz` (the process runs), `/readyz` (each
 * dependency check passes; 503 with the failing names otherwise) and `/metrics` (Prometheus).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  // Typed as fastify's logger interface so the instance gets the default FastifyInstance type.
  const httpLogger: FastifyBaseLogger = options.logger.child({ component: 'http' });
  const app = fastify({ loggerInstance: httpLogger, disableRequestLogging: true });
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const results = await Promise.all(
      options.checks.map(async (c) => {
        try {
          return { name: c.name, ok: await c.check() };
        } catch {
          return { name: c.name, ok: false };
        }
      }),
    );
    const failing = results.filter((r) => !r.ok).map((r) => r.name);
    return reply.code(failing.length === 0 ? 200 : 503).send({
      status: failing.length === 0 ? 'ready' : 'not_ready',
      checks: Object.fromEntries(results.map((r) => [r.name, r.ok])),
    });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(options.registry.contentType).send(await options.registry.metrics()),
  );
  options.extend?.(app);
  await app.listen({ host: options.host, port: options.port });
  let closing: Promise<void> | undefined;
  return {
    app,
    url: () => {
      const address = app.server.address();
      return typeof address === 'object' && address ? `http://${options.host}:${address.port}` : '';
    },
    close: () => (closing ??= app.close()),
  };
}
