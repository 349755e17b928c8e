import type pg from 'pg';
import type { EventStoreLogger } from '../port.ts';
import { backoffMs, sleep } from '../subscription-control.ts';

export interface PgListener {
  /** Calls `onWake` on every NOTIFY of the channel and after every (re)connect; returns an unregister function. */
  listen(onWake: () => void): () => void;
  /** Ends the LISTEN connection; safe to call twice. */
  close(): Promise<void>;
}

/**
 * One dedicated connection per store that LISTENs on the store's channel for all its subscriptions. A
 * pooled connection cannot be used: LISTEN belongs to a session, and the pool would hand that session to
 * other queries. The connection is opened on the first subscription and reopened with backoff when lost;
 * each (re)connect wakes every subscription, because NOTIFYs sent while nobody listened are gone.
 */
export function createPgListener(deps: {
  connect: () => pg.Client;
  channel: string;
  logger: EventStoreLogger;
}): PgListener {
  const { connect, channel, logger } = deps;
  const callbacks = new Set<() => void>();
  const stop = new AbortController();
  const stopped = (): boolean => stop.signal.aborted;
  let running: Promise<void> | undefined;

  const wakeAll = (): void => {
    for (const callback of callbacks) callback();
  };

  const session = async (client: pg.Client): Promise<void> => {
    let end = (): void => undefined;
    const lost = new Promise<void>((resolve) => (end = resolve));
    client.on('error', (error) => {
      logger.warn({ err: error, channel }, 'event store LISTEN connection failed');
      end();
    });
    client.once('end', end);
    client.on('notification', wakeAll);
    stop.signal.addEventListener('abort', end, { once: true });
    try {
      await client.connect();
      // The channel name comes from a validated schema name (see pgNames), so quoting it is enough.
      await client.query(`LISTEN "${channel}"`);
      wakeAll();
      await lost;
    } finally {
      stop.signal.removeEventListener('abort', end);
    }
  };

  const loop = async (): Promise<void> => {
    for (let attempt = 0; !stopped(); attempt++) {
      const client = connect();
      const started = Date.now();
      try {
        await session(client);
      } catch (error) {
        if (!stopped()) logger.warn({ err: error, channel }, 'event store LISTEN connection failed');
      }
      await client.end().catch(() => undefined);
      // A session that lasted a while was healthy: start the backoff over.
      if (Date.now() - started > 30_000) attempt = 0;
      await sleep(backoffMs(attempt), stop.signal);
    }
  };

  return {
    listen: (onWake) => {
      callbacks.add(onWake);
      if (!stopped()) running ??= loop();
      return () => void callbacks.delete(onWake);
    },
    close: async () => {
      stop.abort();
      callbacks.clear();
      await running;
    },
  };
}
