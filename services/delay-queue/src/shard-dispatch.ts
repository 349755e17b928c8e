import { toError } from '@openpenpal/errors';
import type { Logger } from 'pino';
import type { Dispatcher } from './dispatcher.ts';
import type { DelayStore, ShardRef, ShardedDelayStore } from './store/index.ts';

export interface ShardDispatchOptions {
  store: ShardedDelayStore;
  /** A dispatcher over one shard's store (not started). */
  createDispatcher(store: DelayStore, shard: ShardRef): Dispatcher;
  logger: Logger;
}

export interface ShardDispatch {
  /**
   * The request topic's partitions this replica owns since its last join of the consumer group:
   * it dispatches exactly those shards (and the unsharded keys with partition 0). Dispatchers of
   * shards no longer owned finish their claimed batches and stop; new ones start.
   */
  assign(partitions: readonly number[]): Promise<void>;
  /** A due time newly pending in a shard; wakes its dispatcher when this replica runs it. */
  notify(shard: ShardRef, dueAt: number): void;
  /** The shards dispatched here now. */
  owned(): ShardRef[];
  /** Whether every running dispatcher's last Redis call succeeded. */
  isHealthy(): boolean;
  /** Stops every dispatcher (claimed batches finish); safe to call twice. */
  close(): Promise<void>;
}

/**
 * Dispatch follows the consumer group: the replica that owns partition p of the request topic
 * dispatches shard p, which its intake writes. Ownership needs no lock of its own: claims do the
 * rest. While a rebalance moves a partition, the old and the new owner may both run a dispatcher
 * over the shard for a moment, and a claim hands each due item to one of them; an item the old
 * owner claimed stays in flight until it acknowledges it (after the publish) or releases it, or,
 * if it died, until the claim expires and the new owner claims it again (`redelivered`, same
 * `message-id`). The unsharded keys of a store written before sharding drain with partition 0.
 */
export function createShardDispatch(options: ShardDispatchOptions): ShardDispatch {
  const { store, logger } = options;
  const running = new Map<ShardRef, Dispatcher>();
  const stopping = new Set<Promise<void>>();
  let changes: Promise<void> = Promise.resolve();
  let closed = false;
  let done: Promise<void> | undefined;

  const stop = (ref: ShardRef): void => {
    const dispatcher = running.get(ref);
    if (!dispatcher) return;
    running.delete(ref);
    const closing = dispatcher
      .close()
      .catch((error: unknown) => {
        logger.error({ err: toError(error), shard: ref }, 'stopping a shard dispatcher failed');
      })
      .finally(() => stopping.delete(closing));
    stopping.add(closing);
  };

  const apply = (partitions: readonly number[]): void => {
    if (closed) return;
    const wanted = new Set<ShardRef>(partitions);
    if (wanted.has(0)) wanted.add('legacy');
    const before = [...running.keys()];
    for (const ref of before) if (!wanted.has(ref)) stop(ref);
    for (const ref of wanted) {
      if (running.has(ref)) continue;
      const dispatcher = options.createDispatcher(store.shard(ref), ref);
      running.set(ref, dispatcher);
      dispatcher.start();
    }
    logger.info({ shards: [...running.keys()], before }, 'dispatching the shards of the owned partitions');
  };

  return {
    assign: (partitions) => (changes = changes.then(() => apply(partitions))),
    notify: (shard, dueAt) => running.get(shard)?.notify(dueAt),
    owned: () => [...running.keys()],
    isHealthy: () => [...running.values()].every((dispatcher) => dispatcher.isHealthy()),
    close: () =>
      (done ??= (async () => {
        closed = true;
        await changes;
        for (const ref of [...running.keys()]) stop(ref);
        while (stopping.size > 0) await Promise.allSettled([...stopping]);
      })()),
  };
}
