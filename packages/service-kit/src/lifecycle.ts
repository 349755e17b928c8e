import { toError } from '@openpenpal/errors';
import type { Logger } from 'pino';

export interface Closeable {
  name: string;
  close(): Promise<void>;
}

/**
 * Closes components in reverse start order, each given what is left of one overall deadline; a
 * component that fails or overruns is logged and the rest still close.
 */
export async function closeAll(
  components: readonly Closeable[],
  deadlineMs: number,
  logger: Logger,
): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  let clean = true;
  for (const component of [...components].reverse()) {
    const left = Math.max(0, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<'overrun'>((resolve) => {
      timer = setTimeout(() => resolve('overrun'), left);
    });
    try {
      const result = await Promise.race([component.close().then(() => 'closed' as const), overrun]);
      if (result === 'overrun') {
        clean = false;
        logger.error({ component: component.name }, 'component did not close before the shutdown deadline');
      }
    } catch (error) {
      clean = false;
      logger.error({ err: toError(error), component: component.name }, 'component failed to close');
    } finally {
      clearTimeout(timer);
    }
  }
  return clean;
}

/**
 * Runs a service: `start` builds and starts its components (returned in start order); SIGTERM or
 * SIGINT closes them in reverse order within the deadline, then the process exits (0 when every
 * component closed cleanly). A failed start closes what had started and exits 1.
 */
export async function runService(options: {
  name: string;
  logger: Logger;
  shutdownDeadlineMs: number;
  start: (register: (component: Closeable) => void) => Promise<void>;
}): Promise<void> {
  const { logger } = options;
  const components: Closeable[] = [];
  let stopping = false;
  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, `${options.name} stopping`);
    const clean = await closeAll(components, options.shutdownDeadlineMs, logger);
    logger.info({ clean }, `${options.name} stopped`);
    process.exit(clean ? code : 1);
  };
  process.once('SIGTERM', () => void stop('SIGTERM', 0));
  process.once('SIGINT', () => void stop('SIGINT', 0));
  try {
    await options.start((component) => components.push(component));
    logger.info(`${options.name} started`);
  } catch (error) {
    logger.fatal({ err: toError(error) }, `${options.name} failed to start`);
    await stop('start failed', 1);
  }
}
