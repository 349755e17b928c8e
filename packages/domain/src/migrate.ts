import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { SchedulerError } from '@openpenpal/errors';
import { runner } from 'node-pg-migrate';
import type pg from 'pg';
import type { Logger } from 'pino';
import { qualified } from './schema-name.ts';

/** The migrations of the domain subset (SQL files, applied in name order). */
export const DOMAIN_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
/** node-pg-migrate's record of what ran, in the domain schema. */
export const DOMAIN_MIGRATIONS_TABLE = 'scheduler_domain_migrations';

async function migrationNames(): Promise<string[]> {
  const files = await readdir(DOMAIN_MIGRATIONS_DIR);
  return files
    .filter((file) => file.endsWith('.sql'))
    .map((file) => file.slice(0, -'.sql'.length))
    .sort();
}

/**
 * Applies the pending domain migrations to `schema` (created when missing) with node-pg-migrate:
 * one transaction for all of them, under an advisory lock per schema (waited for), so two replicas
 * starting at once apply each migration once. Needs a role that may create tables in the schema. Returns what it applied.
 */
export async function migrateDomain(options: {
  databaseUrl: string;
  schema: string;
  logger?: Logger;
}): Promise<string[]> {
  qualified(options.schema, DOMAIN_MIGRATIONS_TABLE);
  const applied = await runner({
    databaseUrl: options.databaseUrl,
    dir: DOMAIN_MIGRATIONS_DIR,
    direction: 'up',
    schema: options.schema,
    createSchema: true,
    migrationsTable: DOMAIN_MIGRATIONS_TABLE,
    checkOrder: true,
    singleTransaction: true,
    // One lock per schema, waited for: replicas starting together migrate one after the other, and
    // migrations of other schemas (tests, other deployments in one database) do not fail on it.
    advisoryLockMode: 'wait',
    lockValue: crc32(`openpenpal-domain-migrations:${options.schema}`),
    log: (message) => options.logger?.debug({ component: 'domain-migrations' }, message),
  });
  return applied.map((migration) => migration.name);
}

/** Migrations not yet applied to `schema`; a service refuses to start while any is pending. */
export async function pendingDomainMigrations(pool: pg.Pool, schema: string): Promise<string[]> {
  const all = await migrationNames();
  let done: Set<string>;
  try {
    const result = await pool.query<{ name: string }>(
      `SELECT name FROM ${qualified(schema, DOMAIN_MIGRATIONS_TABLE)}`,
    );
    done = new Set(result.rows.map((row) => row.name));
  } catch (error) {
    // 42P01 undefined_table, 3F000 invalid_schema_name: nothing applied yet.
    const code = (error as { code?: string }).code;
    if (code !== '42P01' && code !== '3F000') {
      throw new SchedulerError('DEPENDENCY_UNAVAILABLE', 'PostgreSQL refused the migrations query', {
        cause: error,
      });
    }
    done = new Set();
  }
  return all.filter((name) => !done.has(name));
}

/** Throws CONFIG_INVALID naming the pending migrations and the command that applies them. */
export async function assertDomainMigrated(pool: pg.Pool, schema: string): Promise<void> {
  const pending = await pendingDomainMigrations(pool, schema);
  if (pending.length > 0) {
    throw new SchedulerError(
      'CONFIG_INVALID',
      `the domain schema "${schema}" lacks migrations ${pending.join(', ')}: run \`pnpm domain:migrate\` ` +
        '(DATABASE_URL with a role that may create tables, DOMAIN_DB_SCHEMA) or set DOMAIN_MIGRATE_ON_START=true',
    );
  }
}
