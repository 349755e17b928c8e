import { randomUUID } from 'node:crypto';
import { createPgTestContext, type PgTestContext } from '@openpenpal/test-kit';
import pgLib from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createExecutionStore } from '../src/execution-store.ts';

const stack = inject('stack');

describe('the execution store migration', () => {
  let pg: PgTestContext;
  const pools: pgLib.Pool[] = [];
  beforeAll(async () => {
    pg = await createPgTestContext(stack);
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await pg.close();
  });

  // Every handler migrates at start: on an empty database (the fault suite's first start) two
  // CREATE TABLE IF NOT EXISTS at once failed with a unique violation on pg_type.
  it('succeeds when several handlers start on an empty database at once', async () => {
    for (let round = 0; round < 3; round += 1) {
      const schema = `${pg.schema}_m${round}_${randomUUID().slice(0, 6)}`;
      const stores = Array.from({ length: 6 }, () => {
        const pool = new pgLib.Pool({ connectionString: stack.databaseUrl, max: 2 });
        pools.push(pool);
        return createExecutionStore(pool, schema);
      });
      await expect(Promise.all(stores.map((store) => store.migrate()))).resolves.toBeDefined();
      await pg.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });
});
