import { loadConfig } from '@openpenpal/service-kit';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { apiConfigSchema } from './config.ts';
import type { ApiDeps } from './deps.ts';
import { createApiMetrics } from './metrics.ts';
import { buildServer } from './server.ts';

/**
 * The OpenAPI document of the routes, generated from their schemas without any server: the routes
 * are registered on dependencies that refuse every use (no handler runs), then @fastify/swagger
 * reads the schemas. `pnpm api:openapi` writes it to docs/openapi.json; a unit test fails when the
 * file differs from what the routes give.
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig(apiConfigSchema, {
    KAFKA_BROKERS: 'unused:9092',
    DATABASE_URL: 'postgres://unused/unused',
    REDIS_URL: 'redis://unused',
    API_JWT_SECRET: 'only-the-document-is-built-here-no-server-runs',
  });
  const registry = new Registry();
  const given: Partial<ApiDeps> = {
    config,
    clock: { now: () => Date.now() },
    metrics: createApiMetrics(registry),
  };
  const deps = new Proxy(given, {
    get: (target, name) => {
      if (name in target) return target[name as keyof ApiDeps];
      throw new Error(`the OpenAPI document is built without dependencies (${String(name)})`);
    },
  }) as ApiDeps;
  const server = buildServer({ deps, ops: { registry, checks: [] }, logger: pino({ level: 'silent' }) });
  try {
    await server.ready();
    return server.swagger() as unknown as Record<string, unknown>;
  } finally {
    await server.close();
  }
}

/** The document as docs/openapi.json holds it: two-space JSON and a final newline. */
export async function openApiText(): Promise<string> {
  return `${JSON.stringify(await openApiDocument(), null, 2)}\n`;
}
