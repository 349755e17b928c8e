import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { loadStackEnv, stackEnvFile, type StackEnv } from './stack-env.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEnv;
  }
}

function dockerAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

/**
 * Finds the infrastructure for integration tests, once per run: the running local stack (or
 * variables naming one); when there is none and Docker is available, containers started here.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const found = loadStackEnv();
  if (found) {
    project.provide('stack', found);
    return undefined;
  }
  if (!dockerAvailable()) {
    throw new Error(
      `integration tests need Kafka, Redis and PostgreSQL: run \`pnpm stack:up\` (writes ${stackEnvFile()}), ` +
        'set KAFKA_BROKERS, REDIS_URL and DATABASE_URL, or make Docker available for Testcontainers',
    );
  }
  const { startContainerStack } = await import('./containers.ts');
  const containers = await startContainerStack();
  project.provide('stack', containers.env);
  return containers.stop;
}
