import { toError } from '@openpenpal/errors';
import type { Logger } from 'pino';

/**
 * Runs `operation` until it succeeds or `attempts` are used, waiting a little longer each time.
 * For admin calls right after topics were created, while the broker's metadata settles.
 */
export async function retrying<T>(
  what: string,
  operation: () => Promise<T>,
  options: { logger: Logger; attempts?: number; delayMs?: number },
): Promise<T> {
  const attempts = options.attempts ?? 10;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts) throw error;
      options.logger.warn({ err: toError(error), attempt }, `${what} failed; retrying`);
      await new Promise((resolve) => setTimeout(resolve, (options.delayMs ?? 200) * attempt));
    }
  }
}
