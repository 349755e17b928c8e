import { createPgTestContext, errorWithCode, type PgTestContext } from '@openpenpal/test-kit';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { readdirSync } from 'node:fs';
import {
  assertDomainMigrated,
  DOMAIN_MIGRATIONS_DIR,
  migrateDomain,
  pendingDomainMigrations,
} from '../src/index.ts';

const stack = inject('stack');
/** Every migration in the folder, in name order (each handler may add one). */
const ALL = readdirSync(DOMAIN_MIGRATIONS_DIR)
  .filter((name) => name.endsWith('.sql'))
  .map((name) => name.replace(/\.sql$/, ''))
  .sort();
let pg: PgTestContext | undefined;

afterEach(async () => {
  await pg?.close();
  pg = undefined;
});

async function columns(context: PgTestContext, table: string) {
  const { rows } = await context.pool.query<{ column_name: string; character_maximum_length: number | null }>(
    `SELECT column_name, character_maximum_length FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = $2`,
    [context.schema, table],
  );
  return new Map(rows.map((row) => [row.column_name, row.character_maximum_length]));
}

describe('domain migrations', () => {
  it("leave a platform database's tables and rows alone and add only what is missing", async () => {
    pg = await createPgTestContext(stack);
    // The platform's shapes: its own columns, no published_at/cleanup_at, a type column too narrow.
    await pg.pool.query(`
      CREATE TABLE letters (id varchar(36) PRIMARY KEY, user_id varchar(36) NOT NULL, title varchar(255),
        status varchar(20) NOT NULL, visibility varchar(20) NOT NULL DEFAULT 'private',
        type varchar(20) NOT NULL DEFAULT 'original', scheduled_at timestamptz, author_id varchar(36),
        recipient_id varchar(36), reply_to varchar(36), content text, metadata jsonb,
        created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz, envelope_id varchar(36));
      INSERT INTO letters (id, user_id, title, status, envelope_id) VALUES ('l1', 'u1', 'kept', 'draft', 'env-1');
      CREATE TABLE notifications (id varchar(36) PRIMARY KEY, user_id varchar(36) NOT NULL, type varchar(20) NOT NULL,
        channel varchar(20), priority varchar(20), title varchar(200), content text, data jsonb,
        status varchar(20) NOT NULL DEFAULT 'pending', scheduled_at timestamptz, sent_at timestamptz,
        read_at timestamptz, retry_count int NOT NULL DEFAULT 0, error_message text,
        created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO notifications (id, user_id, type) VALUES ('n1', 'u1', 'letter_sent');
    `);
    expect(await pendingDomainMigrations(pg.pool, pg.schema)).toEqual(ALL);

    const applied = await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
    expect(applied).toEqual(ALL);
    expect(applied[0]).toBe('001_platform-subset');

    const letterColumns = await columns(pg, 'letters');
    expect(letterColumns.get('envelope_id')).toBe(36);
    expect(letterColumns.get('id')).toBe(36);
    expect(letterColumns.has('published_at')).toBe(true);
    expect(letterColumns.has('cleanup_at')).toBe(true);
    expect((await columns(pg, 'notifications')).get('type')).toBe(64);
    const { rows } = await pg.pool.query<{ title: string; envelope_id: string }>(
      "SELECT title, envelope_id FROM letters WHERE id = 'l1'",
    );
    expect(rows).toEqual([{ title: 'kept', envelope_id: 'env-1' }]);
    expect((await pg.pool.query("SELECT 1 FROM notifications WHERE id = 'n1'")).rowCount).toBe(1);
    for (const table of ['users', 'notification_preferences', 'letter_codes', 'scheduler_outbox']) {
      expect((await columns(pg, table)).size).toBeGreaterThan(0);
    }
    // The type name the original's varchar(20) refused now fits.
    await pg.pool.query(
      "INSERT INTO notifications (id, user_id, type) VALUES ('n2', 'u1', 'future_letter_unlocked')",
    );

    expect(await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema })).toEqual([]);
    await expect(assertDomainMigrated(pg.pool, pg.schema)).resolves.toBeUndefined();
  });

  it('make a service refuse to start on an unmigrated schema, naming the command', async () => {
    pg = await createPgTestContext(stack);
    await expect(assertDomainMigrated(pg.pool, pg.schema)).rejects.toThrow(
      errorWithCode('CONFIG_INVALID', {
        message: /001_platform-subset(, [^:]+)?: run `pnpm domain:migrate`/,
      }),
    );
  });
});
