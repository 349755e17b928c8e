import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { stackEnvFile, uniqueName } from '@openpenpal/test-kit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresFencingTokens } from '../src/lease/postgres-tokens.ts';

// The ticker's own PostgreSQL role of the local stack (deploy/local/lib/pg-roles.sql.sh), as a
// deployment with `TICKER_LEASE_TOKENS=postgres` gives it (values-production.yaml).
function tickerDatabaseUrl(): string | undefined {
  if (process.env.TICKER_DATABASE_URL) return process.env.TICKER_DATABASE_URL;
  try {
    return parseEnv(readFileSync(stackEnvFile(), 'utf8')).TICKER_DATABASE_URL;
  } catch {
    return undefined;
  }
}

const url = tickerDatabaseUrl();

describe.skipIf(!url)('fencing tokens as the ticker role scheduler_ticker', () => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: url, max: 2 });
  });
  afterAll(async () => {
    await pool.end();
  });

  it('creates its table in its own schema and hands out increasing tokens', async () => {
    const tokens = createPostgresFencingTokens(pool);
    const lease = uniqueName('role-lease');
    expect(await tokens.next(lease, 0)).toBe(1);
    expect(await tokens.next(lease, 0)).toBe(2);
    expect(await tokens.next(lease, 7)).toBe(8);
    const where = await pool.query<{ schema: string }>(
      `SELECT table_schema AS schema FROM information_schema.tables WHERE table_name = 'ticker_fencing_tokens'`,
    );
    expect(where.rows).toEqual([{ schema: 'scheduler_ticker' }]);
  });

  it('cannot read or change what other services own', async () => {
    await expect(pool.query('SELECT 1 FROM recorder.executions LIMIT 1')).rejects.toMatchObject({
      code: '42501',
    });
    await expect(pool.query('CREATE SCHEMA ticker_elsewhere')).rejects.toMatchObject({ code: '42501' });
  });
});
