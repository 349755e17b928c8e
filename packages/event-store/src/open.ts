import { EventStoreDBClient } from '@eventstore/db-client';
import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';
import { z } from 'zod';
import { createEsdbEventStore } from './esdb/store.ts';
import type { EventStore, EventStoreLogger } from './port.ts';
import { DEFAULT_SCHEMA } from './postgres/schema.ts';
import { createPostgresEventStore } from './postgres/store.ts';

/**
 * The settings that pick and reach the event store, one family for every service that opens it (the
 * recorder, the admin API): spread into the service's config shape, and check the schema with
 * `refineEventStoreConfig` so that a missing EventStoreDB URL fails at start, naming the variable.
 */
export const eventStoreConfigShape = {
  /** `postgres` (one transaction per multi-stream append) or `esdb` (EventStoreDB / KurrentDB). */
  EVENT_STORE_BACKEND: z.enum(['postgres', 'esdb']).default('postgres'),
  /** Schema of the PostgreSQL store; the `es_` prefix of its LISTEN channel leaves 60 characters. */
  EVENT_STORE_PG_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case PostgreSQL identifier')
    .max(60, 'at most 60 characters')
    .default(DEFAULT_SCHEMA),
  /** EventStoreDB / KurrentDB connection string; required with `EVENT_STORE_BACKEND=esdb`. */
  EVENT_STORE_ESDB_URL: z
    .string()
    .regex(/^esdb(\+discover)?:\/\//, 'an esdb:// or esdb+discover:// connection string')
    .optional(),
};

export interface EventStoreConfig {
  EVENT_STORE_BACKEND: 'postgres' | 'esdb';
  EVENT_STORE_PG_SCHEMA: string;
  EVENT_STORE_ESDB_URL?: string | undefined;
}

/** The rule across the event store settings, for `.superRefine` on a service's config schema. */
export function refineEventStoreConfig(config: EventStoreConfig, ctx: z.RefinementCtx): void {
  if (config.EVENT_STORE_BACKEND === 'esdb' && !config.EVENT_STORE_ESDB_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['EVENT_STORE_ESDB_URL'],
      message: 'required when EVENT_STORE_BACKEND is esdb',
    });
  }
}

export interface OpenedEventStore {
  store: EventStore;
  backend: EventStoreConfig['EVENT_STORE_BACKEND'];
  /** Closes the store and the client opened for it (never the caller's pool); safe to call twice. */
  close(): Promise<void>;
}

export interface OpenEventStoreOptions {
  /** The caller's PostgreSQL pool: the PostgreSQL store lives in it (other backends leave it alone). */
  pool: pg.Pool;
  logger?: EventStoreLogger;
  /**
   * Create the PostgreSQL store's schema when missing (default true). A reader whose database role may
   * not change the schema passes false and relies on the writer having migrated it.
   */
  migrate?: boolean;
}

/**
 * Opens the event store the config names: PostgreSQL in `EVENT_STORE_PG_SCHEMA` of the caller's pool
 * (migrated first), or EventStoreDB / KurrentDB at `EVENT_STORE_ESDB_URL` on a client of its own.
 */
export async function openEventStore(
  config: EventStoreConfig,
  options: OpenEventStoreOptions,
): Promise<OpenedEventStore> {
  const logger = options.logger;
  let closing: Promise<void> | undefined;
  if (config.EVENT_STORE_BACKEND === 'esdb') {
    if (!config.EVENT_STORE_ESDB_URL) {
      throw new SchedulerError(
        'CONFIG_INVALID',
        'EVENT_STORE_ESDB_URL is required when EVENT_STORE_BACKEND is esdb',
      );
    }
    const client = EventStoreDBClient.connectionString(config.EVENT_STORE_ESDB_URL);
    const store = createEsdbEventStore({ client, ...(logger ? { logger } : {}) });
    return {
      store,
      backend: 'esdb',
      close: () =>
        (closing ??= (async () => {
          await store.close();
          await client.dispose();
        })()),
    };
  }
  const store = createPostgresEventStore({
    pool: options.pool,
    schema: config.EVENT_STORE_PG_SCHEMA,
    ...(logger ? { logger } : {}),
  });
  if (options.migrate ?? true) await store.migrate();
  return { store, backend: 'postgres', close: () => (closing ??= store.close()) };
}
