import { isRetryable } from '@openpenpal/errors';
import type pg from 'pg';
import type { EventStoreLogger, SubscribeOptions, Subscription } from '../port.ts';
import { backoffMs, runSubscription, sleep } from '../subscription-control.ts';
import type { PgListener } from './listener.ts';
import { readEventsAfter } from './reads.ts';
import type { PgNames } from './names.ts';
import { readHorizon } from './watermark.ts';

export interface PgSubscriptionDeps {
  pool: pg.Pool;
  names: PgNames;
  listener: PgListener;
  logger: EventStoreLogger;
  batchSize: number;
  /** The longest a subscription waits without a NOTIFY before it looks again (a safety net). */
  pollIntervalMs: number;
}

/** A latch set by NOTIFYs: wait() returns at once when one came since reset(), else on the next one. */
function createWakeSignal(abort: AbortSignal): {
  notify: () => void;
  reset: () => void;
  wait: (timeoutMs: number) => Promise<void>;
} {
  let notified = false;
  let release: (() => void) | undefined;
  return {
    notify: () => {
      notified = true;
      release?.();
    },
    reset: () => {
      notified = false;
    },
    wait: (timeoutMs) =>
      new Promise((resolve) => {
        if (notified || abort.aborted) {
          resolve();
          return;
        }
        const done = (): void => {
          clearTimeout(timer);
          release = undefined;
          abort.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        release = done;
        abort.addEventListener('abort', done, { once: true });
      }),
  };
}

/**
 * Reads in batches up to a horizon (watermark.ts) past which no event can still appear below the
 * checkpoint, so the subscription never skips an event that commits late. Once the horizon is reached,
 * the subscription sleeps until a NOTIFY from an append, a LISTEN reconnect, the poll interval or close().
 */
export function subscribePostgres(deps: PgSubscriptionDeps, options: SubscribeOptions): Subscription {
  const { pool, names, listener, logger, batchSize, pollIntervalMs } = deps;
  return runSubscription(async ({ signal, stopped, caughtUp }) => {
    // Everything up to `after` is handled; everything up to `horizon` is final.
    let after = options.after ?? 0n;
    let horizon = after;
    const wake = createWakeSignal(signal);
    const unlisten = listener.listen(wake.notify);
    try {
      for (let failures = 0; !stopped();) {
        let events;
        try {
          if (after >= horizon) {
            // Cleared before the horizon is read: a NOTIFY from any later commit means "look again".
            wake.reset();
            const next = await readHorizon(pool, names, signal);
            if (next === undefined) return;
            if (next > horizon) horizon = next;
          }
          events = await readEventsAfter(pool, names, { after, upTo: horizon }, batchSize, options.category);
          failures = 0;
        } catch (error) {
          if (!isRetryable(error)) throw error;
          logger.warn(
            { err: error, after: after.toString() },
            'event store subscription read failed, retrying',
          );
          await sleep(backoffMs(failures++), signal);
          continue;
        }
        for (const event of events) {
          if (stopped()) return;
          await options.handler(event);
          after = event.position;
        }
        if (events.length === batchSize) continue;
        // No more events of interest up to the horizon: the cursor may skip the rest of it.
        if (horizon > after) after = horizon;
        caughtUp();
        if (!stopped()) await wake.wait(pollIntervalMs);
      }
    } finally {
      unlisten();
    }
  });
}
