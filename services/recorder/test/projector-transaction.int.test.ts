import { createPgTestContext, type PgTestContext } from '@openpenpal/test-kit';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { inTransaction } from '../src/read-models/projector.ts';

const stack = inject('stack');
let pg: PgTestContext;

beforeEach(async () => {
  pg = await createPgTestContext(stack);
});

afterEach(async () => {
  await pg.close();
});

describe('a projection transaction whose connection PostgreSQL ends between two statements', () => {
  // A PostgreSQL restart ends idle sessions too: pg emits 'error' on the checked-out client, and
  // with no listener the recorder exited (seen in the system fault run) instead of retrying.
  it('rejects with the error that ended the session instead of ending the process', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const outcome = inTransaction(pg.pool, async (client) => {
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await pg.pool.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await client.query('SELECT 1');
        return true;
      });
      await expect(outcome).rejects.toThrow(/terminat/i);
      expect(uncaught).toEqual([]);
      expect((await pg.pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });
});
