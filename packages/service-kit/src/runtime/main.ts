import { toError } from '@openpenpal/errors';
import { startTelemetry, type Telemetry } from '@openpenpal/telemetry/sdk';
import { loadConfig, type RuntimeConfig } from '../config.ts';
import { createLogger, defaultInstanceId } from '../logger.ts';
import { startService, type RunningService, type ServiceDefinition } from './service.ts';

/**
 * A service process: config (a bad setting exits 1 with every problem named), telemetry, logger,
 * then the service. SIGTERM or SIGINT closes every component in reverse start order within
 * SHUTDOWN_DEADLINE_MS and exits 0 (1 when something did not close cleanly); a failed start or a
 * component that fails for good (a consumer kafkajs gave up on) closes everything and exits 1, so
 * a supervisor restarts the process.
 */
export async function runMain<C extends RuntimeConfig>(definition: ServiceDefinition<C>): Promise<void> {
  let config: C;
  let telemetry: Telemetry;
  try {
    config = loadConfig(definition.configSchema);
    // Before any client exists, so every span has a provider; a bad OTEL_* setting exits 1 too.
    telemetry = startTelemetry({ serviceName: definition.name });
  } catch (error) {
    process.stderr.write(`${definition.name}: ${toError(error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger({
    service: definition.name,
    level: config.LOG_LEVEL,
    instanceId: config.INSTANCE_ID ?? defaultInstanceId(),
  });
  let stopping = false;
  // A signal during the start waits for it: then everything that started is closed.
  let startup: Promise<RunningService<C> | undefined> = Promise.resolve(undefined);
  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, `${definition.name} stopping`);
    // A start that never finishes (a dependency that hangs) must not keep the process alive:
    // what started is closed by startService itself once it fails or finishes.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'overrun'>((resolve) => {
      timer = setTimeout(() => resolve('overrun'), config.SHUTDOWN_DEADLINE_MS);
    });
    const running = await Promise.race([startup, deadline]);
    clearTimeout(timer);
    if (running === 'overrun')
      logger.error(`${definition.name} did not finish starting before the shutdown deadline`);
    const clean = running === 'overrun' ? false : running ? await running.close() : code === 0;
    await telemetry.shutdown().catch(() => undefined);
    logger.info({ clean }, `${definition.name} stopped`);
    process.exit(clean ? code : 1);
  };
  process.once('SIGTERM', () => void stop('SIGTERM', 0));
  process.once('SIGINT', () => void stop('SIGINT', 0));
  startup = startService(definition, {
    config,
    logger,
    onFatal: () => void stop('a component failed for good', 1),
  }).catch((error: unknown) => {
    logger.fatal({ err: toError(error) }, toError(error).message);
    void stop('start failed', 1);
    return undefined;
  });
  await startup;
}
