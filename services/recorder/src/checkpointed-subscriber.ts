import { isRetryable, toError } from '@openpenpal/errors';
import type { EventStore, RecordedEvent, Subscription } from '@openpenpal/event-store';
import { createBackoff, sleep, type Backoff } from '@openpenpal/timing';
import type { Logger } from 'pino';
import type { Checkpoints } from './read-models/checkpoints.ts';

export interface Batch {
  events: RecordedEvent[];
  /** The checkpoint the batch starts from: the handler moves it from here to `to` (compare-and-set). */
  from: bigint;
  to: bigint;
}

export interface CheckpointedSubscriberOptions {
  name: string;
  store: EventStore;
  category: string;
  checkpoints: Checkpoints;
  /**
   * Handles a batch and moves the checkpoint to `to` once its effects are durable; resolves false when
   * the stored checkpoint was not `from` (someone else moved it), which restarts from the stored one.
   */
  handle(batch: Batch): Promise<boolean>;
  /** Most events handled at once (default 1000). */
  maxBatch?: number;
  /** How long a partial batch waits for more events (default 50 ms). */
  flushDelayMs?: number;
  /**
   * Consecutive failures after which it stops for good (`onFatal`, `caughtUp` rejects); default none:
   * a service retries an outage for as long as it lasts, a one-off command (rebuild) must end.
   */
  maxFailures?: number;
  logger: Logger;
  onBatch?(batch: Batch, durationMs: number): void;
  /**
   * Called once when a failure is not retryable (a SchedulerError whose code says so: a missing table,
   * a definition that cannot be encoded): the subscriber stops instead of retrying it forever behind a
   * ready service. The recorder fails the process (`ctx.fail`) so that it restarts and alerts.
   */
  onFatal?: (error: Error) => void;
}

export interface CheckpointedSubscriber {
  /** Loads the checkpoint and subscribes after it. */
  start(): Promise<void>;
  /**
   * Resolves once every event stored when the current subscription started has been handled; rejects
   * when the subscriber is closed or stopped for good meanwhile.
   */
  caughtUp(): Promise<void>;
  /** The position of the last event handled and checkpointed. */
  position(): bigint;
  close(): Promise<void>;
}

/** Thrown inside the runner when the stored checkpoint moved under it. */
class CheckpointMoved extends Error {}

const RESTART_BACKOFF = { initialDelayMs: 100, maxDelayMs: 10_000 };

/**
 * A catch-up subscription of one category whose handler works in batches: events are buffered and
 * handed over together (up to `maxBatch`, or after `flushDelayMs`), and each batch moves a checkpoint
 * kept in PostgreSQL. The store's own cursor is never trusted across a failure: after any error the
 * runner drops its buffer, reloads the stored checkpoint and subscribes again from it (with backoff), so
 * an event is handled again only if its batch never committed. A failure that is not retryable stops it
 * for good (`onFatal`).
 */
export function createCheckpointedSubscriber(options: CheckpointedSubscriberOptions): CheckpointedSubscriber {
  const { store, checkpoints, logger } = options;
  const maxBatch = options.maxBatch ?? 1_000;
  const flushDelayMs = options.flushDelayMs ?? 50;
  const log = logger.child({ component: 'subscriber', subscriber: options.name });
  let position = 0n;
  let buffer: RecordedEvent[] = [];
  let subscription: Subscription | undefined;
  let generation = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let restarting: Promise<void> | undefined;
  let failures = 0;
  // One backoff per run of failures: a batch that goes through starts the next run from the shortest delay.
  let backoff: Backoff | undefined;
  const nextDelay = (): number => {
    failures++;
    return (backoff ??= createBackoff(RESTART_BACKOFF)).next();
  };
  const stopped = new AbortController();
  let closed = false;
  let failed: Error | undefined;

  const flushNow = async (owner: number): Promise<void> => {
    if (owner !== generation || buffer.length === 0) return;
    const events = buffer;
    buffer = [];
    const batch: Batch = { events, from: position, to: events.at(-1)?.position ?? position };
    const started = performance.now();
    if (!(await options.handle(batch))) throw new CheckpointMoved(`checkpoint ${options.name} moved`);
    position = batch.to;
    failures = 0;
    backoff = undefined;
    options.onBatch?.(batch, performance.now() - started);
  };

  /** Flushes after any flush in flight (one at a time, in order); rejects when this flush fails. */
  const flush = (owner: number): Promise<void> => {
    const next = flushing.catch(() => undefined).then(() => flushNow(owner));
    flushing = next;
    return next;
  };

  const subscribe = (owner: number): void => {
    const current = store.subscribe({
      category: options.category,
      after: position,
      handler: async (event) => {
        if (owner !== generation) return;
        buffer.push(event);
        if (buffer.length >= maxBatch) {
          clearTimeout(timer);
          timer = undefined;
          await flush(owner);
        } else {
          timer ??= setTimeout(() => {
            timer = undefined;
            flush(owner).catch((error: unknown) => void restart(owner, error));
          }, flushDelayMs);
        }
      },
    });
    subscription = current;
    current.done.catch((error: unknown) => void restart(owner, error));
  };

  const stopForGood = async (error: unknown, why: string): Promise<void> => {
    failed = toError(error);
    generation++;
    clearTimeout(timer);
    timer = undefined;
    buffer = [];
    log.fatal({ err: failed, failures }, `subscriber stopped for good: ${why}`);
    await subscription?.close().catch(() => undefined);
    options.onFatal?.(failed);
  };

  const restart = (owner: number, error: unknown): Promise<void> => {
    if (closed || failed || owner !== generation) return restarting ?? Promise.resolve();
    const moved = error instanceof CheckpointMoved;
    if (!moved && !isRetryable(error)) return stopForGood(error, 'its failure is not retryable');
    if (!moved && options.maxFailures !== undefined && failures >= options.maxFailures)
      return stopForGood(error, `${failures + 1} failures in a row`);
    generation++;
    const next = generation;
    clearTimeout(timer);
    timer = undefined;
    buffer = [];
    if (moved) log.info('checkpoint moved by another writer; resuming from it');
    else log.error({ err: toError(error), failures }, 'subscriber failed; resuming from its checkpoint');
    restarting = (async () => {
      await subscription?.close().catch(() => undefined);
      await flushing.catch(() => undefined);
      if (!moved) await sleep(nextDelay(), stopped.signal);
      // A function: TypeScript would keep the values narrowed at the top across the awaits.
      const current = () => !closed && next === generation;
      while (current()) {
        try {
          position = await checkpoints.load(options.name);
          subscribe(next);
          return;
        } catch (loadError) {
          if (options.maxFailures !== undefined && failures >= options.maxFailures) {
            await stopForGood(loadError, `${failures + 1} failures in a row`);
            return;
          }
          log.warn({ err: toError(loadError) }, 'loading the checkpoint failed, retrying');
          await sleep(nextDelay(), stopped.signal);
        }
      }
    })().finally(() => {
      restarting = undefined;
    });
    return restarting;
  };

  return {
    start: async () => {
      position = await checkpoints.load(options.name);
      subscribe(generation);
      log.info({ position: position.toString() }, 'subscriber started');
    },
    caughtUp: async () => {
      // A restart (the checkpoint moved, a failure) replaces the subscription: wait for the new one.
      for (;;) {
        if (failed) throw failed;
        if (closed) throw new Error(`subscriber ${options.name} is closed`);
        if (restarting) await restarting;
        const owner = generation;
        const caught = await (subscription?.caughtUp ?? Promise.resolve()).then(
          () => true,
          () => false,
        );
        if (owner !== generation) continue;
        if (!caught) {
          await restart(owner, new Error(`subscription ${options.name} stopped before it caught up`));
          continue;
        }
        clearTimeout(timer);
        timer = undefined;
        await flush(owner).catch((error: unknown) => restart(owner, error));
        if (owner === generation) return;
      }
    },
    position: () => position,
    close: async () => {
      if (closed) return;
      closed = true;
      stopped.abort();
      generation++;
      clearTimeout(timer);
      await restarting;
      await subscription?.close();
      // What is buffered was never checkpointed: the next start reads it again.
      buffer = [];
      await flushing.catch(() => undefined);
    },
  };
}
