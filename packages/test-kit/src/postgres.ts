import pg from 'pg';
import { uniqueName } from './names.ts';
import type { StackEnv } from './stack-env.ts';

export interface PgTestContext {
  /** A pool whose connections use only the test's schema (search_path). */
  pool: pg.Pool;
  schema: string;
  /** Drops the schema with everything in it and ends the pool; safe to call twice. */
  close(): Promise<void>;
}

export async function createPgTestContext(stack: StackEnv): Promise<PgTestContext> {
  const schema = uniqueName('t').replace('-', '_');
  const admin = new pg.Client({ connectionString: stack.databaseUrl });
  await admin.connect();
  try {
    // Identifiers cannot be bound as parameters; the name is ours ([a-z0-9_]) and quoted anyway.
    await admin.query(`CREATE SCHEMA "${schema}"`);
  } finally {
    await admin.end();
  }
  const pool = new pg.Pool({
    connectionString: stack.databaseUrl,
    options: `-c search_path=${schema}`,
    max: 5,
  });
  let closed = false;
  return {
    pool,
    schema,
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
      await pool.end();
    },
  };
}
