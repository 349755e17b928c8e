import { toError } from '@openpenpal/errors';
import { dispatchBatch, type BatchDependencies } from './dispatch-batch.ts';
import { backoffDelay } from './retry.ts';
import type { ClaimedItem } from './store/index.ts';

export interface DispatcherOptions extends BatchDependencies {
  /**
   * Most items this dispatcher holds claimed and unacknowledged at any moment. A crash repeats at
   * most this many publishes (their claims expire and another dispatcher publishes them again).
   */
  batchSize: number;
  /**
   * Shared by the dispatchers of one process (one per shard), so `batchSize` bounds what the whole
   * process holds claimed; by default the dispatcher has a budget of its own.
   */
  budget?: ClaimBudget;
  /** Longest sleep without looking at Redis: the safety net for a lost wake-up. */
  maxSleepMs: number;
  /**
   * Least time between two claims that found items due in the future. A steady stream (a message
   * due every half millisecond) would otherwise cost a claim, a produce request, an event send and
   * an ack per message; waiting this long gathers it into batches at that cost in lateness.
   */
  minClaimIntervalMs: number;
}

export interface Dispatcher {
  /** Starts the loop; resolves at once. */
  start(): void;
  /** A due time newly pending (this process's intake, or the store's wake-up channel). */
  notify(dueAt: number): void;
  /** Whether the last Redis call of the loop succeeded. */
  isHealthy(): boolean;
  /** Stops claiming, lets claimed batches finish (publish, events, ack or release); safe to call twice. */
  close(): Promise<void>;
}

/** Items claimed and not yet settled, counted across the dispatchers that share it. */
export interface ClaimBudget {
  readonly held: number;
  take(count: number): void;
  /** Gives claims back and tells every sharing dispatcher that room was made. */
  give(count: number): void;
  /** Calls `listener` after every give; returns the unsubscribe. */
  onFree(listener: () => void): () => void;
}

export function createClaimBudget(): ClaimBudget {
  let held = 0;
  const listeners = new Set<() => void>();
  return {
    get held() {
      return held;
    },
    take: (count) => {
      held += count;
    },
    give: (count) => {
      held -= count;
      for (const listener of listeners) listener();
    },
    onFree: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * The dispatch loop. It claims what is due, publishes it, and sleeps until the earliest due time
 * (`nextDueAt`), woken earlier by `notify`, with `maxSleepMs` as a cap — no poll interval.
 *
 * One batch publishes at a time: what falls due meanwhile waits in Redis and goes out in the next
 * claim, so a steady stream batches itself instead of queueing one produce request per message.
 * The next claim may start while the previous batch still records its events and acknowledges,
 * but never beyond `batchSize` items held in total.
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { store, clock, logger, metrics, batchSize, maxSleepMs, minClaimIntervalMs } = options;
  const budget = options.budget ?? createClaimBudget();
  let publishing = false;
  let closing = false;
  let healthy = true;
  let loop: Promise<void> | undefined;
  let closed: Promise<void> | undefined;
  const batches = new Set<Promise<unknown>>();
  let publishFailures = 0;
  let pausedUntil = 0;
  let lastClaimAt = Number.NEGATIVE_INFINITY;

  // The one thing the loop waits on at a time: a timer, a batch's progress, a wake-up, or close().
  let wakeHint = Number.POSITIVE_INFINITY;
  let sleepTarget = Number.POSITIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  const wait = (until: number): Promise<void> =>
    new Promise((resolve) => {
      sleepTarget = until;
      wake = () => {
        clearTimeout(timer);
        timer = undefined;
        wake = undefined;
        sleepTarget = Number.POSITIVE_INFINITY;
        resolve();
      };
      if (Number.isFinite(until)) timer = setTimeout(() => wake?.(), Math.max(0, until - clock.now()));
    });

  const onProgress = (): void => wake?.();
  // Only a loop that waits for room is woken by another dispatcher's claims settling.
  let waitingForRoom = false;
  const unsubscribe = budget.onFree(() => {
    if (waitingForRoom) onProgress();
  });
  const stopped = (): boolean => closing;

  const redisFailed = (operation: string, error: unknown, attempt: number): number => {
    metrics.redisErrors.inc({ operation });
    if (healthy)
      logger.error({ err: toError(error), operation }, 'dispatcher cannot reach Redis; backing off');
    healthy = false;
    return clock.now() + backoffDelay(attempt, options.backoffMaxMs);
  };

  /** Runs a claimed batch; its claims were taken from the budget by the claim. */
  const runBatch = (claims: ClaimedItem[], claimedAt: number): void => {
    publishing = true;
    const batch = dispatchBatch(options, claims, claimedAt, () => {
      publishing = false;
      onProgress();
    })
      .then(({ failed }) => {
        // Released items are due again at once; a pause keeps a broken Kafka from a hot loop.
        publishFailures = failed > 0 ? publishFailures + 1 : 0;
        if (failed > 0) pausedUntil = clock.now() + backoffDelay(publishFailures, options.backoffMaxMs);
      })
      .catch((error: unknown) => {
        logger.error({ err: toError(error) }, 'dispatch batch failed');
      })
      .finally(() => {
        budget.give(claims.length);
        batches.delete(batch);
        onProgress();
      });
    batches.add(batch);
  };

  const run = async (): Promise<void> => {
    let failures = 0;
    while (!closing) {
      if (publishing || budget.held >= batchSize) {
        waitingForRoom = budget.held >= batchSize;
        await wait(Number.POSITIVE_INFINITY);
        waitingForRoom = false;
        continue;
      }
      if (clock.now() < pausedUntil) {
        await wait(pausedUntil);
        continue;
      }
      wakeHint = Number.POSITIVE_INFINITY;
      const claimedAt = clock.now();
      lastClaimAt = claimedAt;
      let claims: ClaimedItem[];
      // Half a batch per claim, so a backlog flows as two overlapping batches: one publishing
      // while the other records its events and acknowledges. The limit is reserved before the
      // call, so loops of other shards claiming at the same moment cannot overshoot the budget.
      const limit = Math.min(batchSize - budget.held, Math.ceil(batchSize / 2));
      budget.take(limit);
      try {
        claims = await store.claimDue({ limit, visibilityMs: options.visibilityMs });
      } catch (error) {
        budget.give(limit);
        failures += 1;
        await wait(redisFailed('claimDue', error, failures));
        continue;
      }
      // What the claim did not fill goes back; runBatch holds the rest until the batch settles.
      if (claims.length < limit) budget.give(limit - claims.length);
      if (claims.length > 0) {
        failures = 0;
        healthy = true;
        runBatch(claims, claimedAt);
        continue;
      }
      let next: number | null;
      try {
        next = await store.nextDueAt();
      } catch (error) {
        failures += 1;
        await wait(redisFailed('nextDueAt', error, failures));
        continue;
      }
      if (!healthy) logger.info('dispatcher reaches Redis again');
      failures = 0;
      healthy = true;
      const earliest = Math.min(next ?? Number.POSITIVE_INFINITY, wakeHint, clock.now() + maxSleepMs);
      const until = Math.max(earliest, lastClaimAt + minClaimIntervalMs);
      // A function call, so TypeScript does not keep `closing` narrowed across the awaits above.
      if (until > clock.now() && !stopped()) await wait(until);
    }
  };

  return {
    start: () => {
      loop ??= run().catch((error: unknown) => {
        logger.fatal({ err: toError(error) }, 'dispatch loop stopped');
      });
    },
    notify: (dueAt) => {
      if (dueAt < wakeHint) wakeHint = dueAt;
      if (!wake || dueAt >= sleepTarget || publishing || budget.held >= batchSize) return;
      if (dueAt <= clock.now()) {
        wake();
        return;
      }
      clearTimeout(timer);
      sleepTarget = dueAt;
      timer = setTimeout(() => wake?.(), dueAt - clock.now());
    },
    isHealthy: () => healthy,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        unsubscribe();
        wake?.();
        await loop;
        // Claimed batches finish: published ones are acknowledged, failed ones released.
        while (batches.size > 0) await Promise.allSettled([...batches]);
      })()),
  };
}
