import { randomUUID } from 'node:crypto';
import { createPgTestContext, type PgTestContext } from '@openpenpal/test-kit';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createPostgresEventStore,
  type AppendResult,
  type PostgresEventStore,
  type RecordedEvent,
} from '../src/index.ts';
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

    it('keeps subscriptions and reads from passing an append that drew its position first but commits last', async () => {
      const collector = collect(store, {});
      await collector.subscription.caughtUp;
      const slow = delayNextAppendCommit(ctx.pool);
      const [first, second] = [newEvents(1), newEvents(1)];
      const slowAppend = store.append(`task-${randomUUID()}`, first);
      await slow.reached;
      let fast: AppendResult;
      let read: Promise<RecordedEvent[]>;
      try {
        // Appends to other streams do not wait for the slow one: this one draws a later position and
        // commits (and notifies) while the slow one's position is still invisible.
        fast = await store.append(`task-${randomUUID()}`, second);
        read = store.readAll();
        const early = await Promise.race([read.then(() => 'read'), delay(300).then(() => 'still waiting')]);
        expect(early).toBe('still waiting');
        expect(collector.received).toEqual([]);
      } finally {
        // Released on failure too: a held transaction would block the schema drop in afterEach.
        slow.release();
      }
      const slowResult = await slowAppend;
      await collector.waitFor(second[0]!.id);

      expect(fast.position).toBeGreaterThan(slowResult.position);
      expect(ids(await read)).toEqual([first[0]!.id, second[0]!.id]);
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
 * Fault injection on the real pool: the adapter's next append runs in an explicit transaction whose
 * COMMIT waits for release(), so the append has drawn its position but is not visible yet.
 */
function delayNextAppendCommit(pool: pg.Pool): { reached: Promise<void>; release: () => void } {
  const reached = Promise.withResolvers<undefined>();
  const gate = Promise.withResolvers<undefined>();
  const query = pool.query.bind(pool) as (text: unknown, values?: unknown) => Promise<unknown>;
  const delayed = async (text: unknown, values?: unknown): Promise<unknown> => {
    if (typeof text !== 'string' || !text.includes('append_events')) return query(text, values);
    Reflect.deleteProperty(pool, 'query');
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await client.query(text, values as unknown[]);
      reached.resolve(undefined);
      await gate.promise;
      await client.query('COMMIT');
      return result;
    } finally {
      client.release();
    }
  };
  pool.query = delayed as typeof pool.query;
  return {
    reached: reached.promise.then(() => undefined),
    release: () => {
      gate.resolve(undefined);
    },
  };
}
