import { SchedulerError } from '@openpenpal/errors';
import type { Subscription } from './port.ts';

/** What an adapter's delivery loop sees of its subscription. */
export interface LoopControl {
  /** Aborted when close() is called: the loop stops delivering and returns. */
  readonly signal: AbortSignal;
  /** Whether close() was called (a function, so that TypeScript does not narrow it across awaits). */
  readonly stopped: () => boolean;
  /** Marks the subscription caught up (idempotent). */
  readonly caughtUp: () => void;
}

interface Deferred {
  promise: Promise<undefined>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  const { promise, resolve, reject } = Promise.withResolvers<undefined>();
  // A caller may never await these; marking them handled keeps an unobserved failure from crashing the
  // process, while whoever does await them still sees the rejection.
  promise.catch(() => undefined);
  return {
    promise,
    resolve: () => {
      resolve(undefined);
    },
    reject,
  };
}

/**
 * Runs an adapter's delivery loop as a Subscription: the loop returning (or failing) after close() ends the
 * subscription quietly; failing before close() rejects `done` (and `caughtUp` if still pending).
 */
export function runSubscription(loop: (control: LoopControl) => Promise<void>): Subscription {
  const abort = new AbortController();
  const caughtUp = deferred();
  const done = deferred();
  let caughtUpSettled = false;
  const settleCaughtUp = (error?: unknown): void => {
    if (caughtUpSettled) return;
    caughtUpSettled = true;
    if (error === undefined) caughtUp.resolve();
    else caughtUp.reject(error);
  };

  const finished = (async () => {
    try {
      await loop({
        signal: abort.signal,
        stopped: () => abort.signal.aborted,
        caughtUp: () => {
          settleCaughtUp();
        },
      });
      settleCaughtUp(new SchedulerError('SHUTTING_DOWN', 'the subscription closed before it caught up'));
      done.resolve();
    } catch (error) {
      if (abort.signal.aborted) {
        settleCaughtUp(new SchedulerError('SHUTTING_DOWN', 'the subscription closed before it caught up'));
        done.resolve();
      } else {
        settleCaughtUp(error);
        done.reject(error);
      }
    }
  })();

  let closing: Promise<void> | undefined;
  return {
    caughtUp: caughtUp.promise,
    done: done.promise,
    close: () => {
      closing ??= (async () => {
        abort.abort();
        await finished;
      })();
      return closing;
    },
  };
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff for reconnect loops: 100 ms doubling up to `maxMs`. */
export function backoffMs(attempt: number, maxMs = 10_000): number {
  return Math.min(maxMs, 100 * 2 ** Math.min(attempt, 16));
}

/** Tracks a store's open subscriptions so that the store's close() can close them. */
export function createSubscriptionRegistry(): {
  add(subscription: Subscription): Subscription;
  closeAll(): Promise<void>;
} {
  const open = new Set<Subscription>();
  return {
    add: (subscription) => {
      open.add(subscription);
      const forget = (): void => void open.delete(subscription);
      subscription.done.then(forget, forget);
      return subscription;
    },
    closeAll: async () => {
      await Promise.all([...open].map((subscription) => subscription.close()));
    },
  };
}
