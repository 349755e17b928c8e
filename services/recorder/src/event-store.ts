import { EventStoreDBClient } from '@eventstore/db-client';
import { createEsdbEventStore, createPostgresEventStore, type EventStore } from '@openpenpal/event-store';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { RecorderConfig } from './config.ts';

export interface OpenedEventStore {
  store: EventStore;
  /** Closes the store and the client opened for it (never the shared pool). */
  close(): Promise<void>;
}

/**
 * The event store the config names: PostgreSQL (in its own schema, migrated here) or EventStoreDB /
 * KurrentDB. The read models stay in PostgreSQL either way.
 */
export async function openEventStore(
  config: Pick<
    RecorderConfig,
    'EVENT_STORE_BACKEND' | 'EVENT_STORE_PG_SCHEMA' | 'EVENTSTORE_CONNECTION_STRING'
  >,
  pool: pg.Pool,
  logger: Logger,
): Promise<OpenedEventStore> {
  const storeLogger = logger.child({ component: 'event-store' });
  if (config.EVENT_STORE_BACKEND === 'esdb') {
    const client = EventStoreDBClient.connectionString(config.EVENTSTORE_CONNECTION_STRING ?? '');
    const store = createEsdbEventStore({ client, logger: storeLogger });
    return {
      store,
      close: async () => {
        await store.close();
        await client.dispose();
      },
    };
  }
  const store = createPostgresEventStore({ pool, schema: config.EVENT_STORE_PG_SCHEMA, logger: storeLogger });
  await store.migrate();
  return { store, close: () => store.close() };
}
