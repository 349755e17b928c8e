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
