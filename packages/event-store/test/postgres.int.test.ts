import { randomUUID } from 'node:crypto';
import { createPgTestContext, type PgTestContext } from '@openpenpal/test-kit';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createPostgresEventStore, type PostgresEventStore } from '../src/index.ts';
import { pgNames } from '../src/postgres/schema.ts';
import { eventStoreConformance } from './conformance.ts';
import { collect, ids, newEvents, rejection } from './conformance-helpers.ts';

const stack = inject('stack');

describe('PostgreSQL adapter', () => {
  describe('conformance', () => {
    eventStoreConformance(async () => {
      const ctx = await createPgTestContext(stack);
      const store = createPostgresEventStore({ pool: ctx.pool, schema: ctx.schema });
      await store.migrate();
      return {
        store,
        close: async () => {
          await store.close();
          await ctx.close();
        },
      };
    });
  });

  describe('specifics', () => {
    let ctx: PgTestContext;
    let store: PostgresEventStore;
    beforeEach(async () => {
      ctx = await createPgTestContext(stack);
      store = createPostgresEventStore({ pool: ctx.pool, schema: ctx.schema });
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
      await ctx.close();
    });

    it('migrates idempotently, also when replicas migrate at the same time', async () => {
      await Promise.all([store.migrate(), store.migrate(), store.migrate()]);
      const columns = await ctx.pool.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'events'
          ORDER BY ordinal_position`,
        [ctx.schema],
      );
      expect(columns.rows.map((row) => row.column_name)).toEqual([
        'position',
        'stream_id',
        'revision',
        'category',
        'event_id',
        'type',
        'data',
        'metadata',
        'created_at',
      ]);
    });

    it('refuses a schema name that is not a plain lower-case identifier', () => {
      for (const schema of ['Public', 'a-b', 'x"; DROP TABLE y; --', '1abc', '']) {
        expect(() => createPostgresEventStore({ pool: ctx.pool, schema })).toThrow(
          expect.objectContaining({ code: 'CONFIG_INVALID' }),
        );
      }
    });

    it('refuses a batch that mixes stored event ids with new ones, and stores nothing of it', async () => {
      const stream = `task-${randomUUID()}`;
      const stored = newEvents(2);
      await store.append(stream, stored);
      const mixed = [stored[1]!, ...newEvents(1)];

      const error = await rejection(store.append(stream, mixed));
      const elsewhere = await rejection(store.append(`task-${randomUUID()}`, stored));

      expect(error.code).toBe('CONFLICT');
      expect(error.details).toMatchObject({ stream, storedEventIds: [stored[1]!.id] });
      expect(elsewhere.code).toBe('CONFLICT');
      expect(ids(await store.readStream(stream))).toEqual(ids(stored));
    });

    it('keeps a subscription from passing an append that drew its position first but commits last', async () => {
      const collector = collect(store, {});
      await collector.subscription.caughtUp;
      const slow = pauseNextCommit(ctx.pool);
      const [first, second] = [newEvents(1), newEvents(1)];
      const slowAppend = store.append(`task-${randomUUID()}`, first);
      await slow.reached;
      const fastAppend = store.append(`task-${randomUUID()}`, second);
      try {
        // The second append must queue behind the first one's transaction instead of committing a later
        // position while the earlier one is still invisible.
        const key = (
          await ctx.pool.query<{ k: string }>('SELECT hashtextextended($1, 0) AS k', [
            pgNames(ctx.schema).appendLockKey,
          ])
        ).rows[0]!.k;
        await vi.waitFor(
          async () => {
            const waiting = await ctx.pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_locks
                WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
                  AND classid::bigint = (($1::bigint >> 32) & 4294967295) AND objid::bigint = ($1::bigint & 4294967295)`,
              [key],
            );
            expect(waiting.rows[0]!.n).toBe(1);
          },
          { timeout: 10_000, interval: 20 },
        );
        expect(collector.received).toEqual([]);
      } finally {
        // Released on failure too: a held transaction would block the schema drop in afterEach.
        slow.release();
      }
      const [slowResult, fastResult] = await Promise.all([slowAppend, fastAppend]);
      await collector.waitFor(second[0]!.id);

      expect(fastResult.position).toBeGreaterThan(slowResult.position);
      expect(ids(collector.received)).toEqual([first[0]!.id, second[0]!.id]);
    });

    it('wakes a subscription through NOTIFY rather than waiting for the next poll', async () => {
      await store.close();
      store = createPostgresEventStore({ pool: ctx.pool, schema: ctx.schema, pollIntervalMs: 600_000 });
      const collector = collect(store, { category: 'task' });
      await collector.subscription.caughtUp;
      // The LISTEN connection wakes subscriptions when it (re)connects; append only once it listens, so
      // that with a ten-minute poll interval nothing but the NOTIFY can bring the event in.
      await vi.waitFor(
        async () => {
          const listening = await ctx.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1 AND state = 'idle'`,
            [`LISTEN "${pgNames(ctx.schema).channel}"`],
          );
          expect(listening.rows[0]!.n).toBe(1);
        },
        { timeout: 10_000, interval: 20 },
      );
      const [event] = newEvents(1);
      await store.append(`task-${randomUUID()}`, [event!]);
      await collector.waitFor(event!.id);
    });
  });
});

/**
 * Fault injection on the real pool: the next client checked out with pool.connect() holds its COMMIT
 * until release(), so its append has drawn a position but is not yet visible.
 */
function pauseNextCommit(pool: pg.Pool): { reached: Promise<void>; release: () => void } {
  const reached = Promise.withResolvers<undefined>();
  const gate = Promise.withResolvers<undefined>();
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  const patched = (...args: unknown[]): unknown => {
    // pool.query() checks out clients with a callback; only the adapter's own connect() is paused.
    if (args.length > 0) return connect(...args);
    Reflect.deleteProperty(pool, 'connect');
    return (connect() as Promise<pg.PoolClient>).then((client) => {
      const query = client.query.bind(client) as (...queryArgs: unknown[]) => Promise<unknown>;
      client.query = ((...queryArgs: unknown[]) => {
        if (queryArgs[0] !== 'COMMIT') return query(...queryArgs);
        Reflect.deleteProperty(client, 'query');
        reached.resolve(undefined);
        return gate.promise.then(() => query(...queryArgs));
      }) as typeof client.query;
      return client;
    });
  };
  pool.connect = patched as typeof pool.connect;
  return {
    reached: reached.promise.then(() => undefined),
    release: () => {
      gate.resolve(undefined);
    },
  };
}
