import { SchedulerError } from '@openpenpal/errors';
import { createPgTestContext, type PgTestContext } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { inTransaction } from '../src/index.ts';

const stack = inject('stack');
let pg: PgTestContext;

beforeEach(async () => {
  pg = await createPgTestContext(stack);
});

afterEach(async () => {
  await pg.close();
});

describe('a transaction whose connection PostgreSQL ends between two statements', () => {
  // A restart (fast shutdown) ends every session, also one idle in a transaction with no query
  // under way: pg then emits 'error' on the checked-out client, and with no listener that ended
  // the process (the system fault run saw handlers and the recorder exit when PostgreSQL restarted).
  it('rejects as DEPENDENCY_UNAVAILABLE instead of ending the process', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const outcome = inTransaction(pg.pool, 'the test write', async (client) => {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await pg.pool.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
        // No query runs on the client while its session is ended.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await client.query('SELECT 1');
      });
      await expect(outcome).rejects.toSatisfy(
        (error) => error instanceof SchedulerError && error.code === 'DEPENDENCY_UNAVAILABLE',
      );
      expect(uncaught).toEqual([]);
      // The pool hands out a working connection afterwards.
      expect((await pg.pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });
});
