import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';
import { appendFunctionSql } from './append-function.ts';
import { appendManyFunctionSql } from './append-many-function.ts';
import type { PgNames } from './names.ts';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;
// PostgreSQL truncates identifiers (and so LISTEN channel names) at 63 bytes.
const MAX_IDENTIFIER_LENGTH = 63;

export const DEFAULT_SCHEMA = 'event_store';

export function pgNames(schema: string = DEFAULT_SCHEMA): PgNames {
  if (!SCHEMA_NAME.test(schema) || schema.length > MAX_IDENTIFIER_LENGTH - 'es_'.length) {
    throw new SchedulerError(
      'CONFIG_INVALID',
      'the event store schema name must match /^[a-z_][a-z0-9_]*$/',
      {
        details: { schema },
      },
    );
  }
  return {
    schema,
    table: `"${schema}".events`,
    appendFunction: `"${schema}".append_events`,
    appendManyFunction: `"${schema}".append_many`,
    sequence: `"${schema}".events_position_seq`,
    appendLockKey: `openpenpal.event_store.append:${schema}`,
    streamLockPrefix: `openpenpal.event_store.stream:${schema}:`,
    migrationLockKey: `openpenpal.event_store.migrate:${schema}`,
    channel: `es_${schema}`,
  };
}

/**
 * Creates the schema, table and indexes when missing, and (re)defines the append function. Runs under an advisory lock so that replicas
 * starting together do not race on CREATE ... IF NOT EXISTS (which is not safe concurrently).
 */
export async function migrate(pool: pg.Pool, names: PgNames): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [names.migrationLockKey]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${names.schema}"`);
    // position: global order. category is derived so that category reads use an index rather than LIKE.
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${names.table} (
        position   bigserial   PRIMARY KEY,
        stream_id  text        NOT NULL,
        revision   bigint      NOT NULL CHECK (revision >= 0),
        category   text        NOT NULL GENERATED ALWAYS AS (split_part(stream_id, '-', 1)) STORED,
        event_id   uuid        NOT NULL,
        type       text        NOT NULL,
        data       jsonb       NOT NULL,
        metadata   jsonb       NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT events_stream_revision_key UNIQUE (stream_id, revision),
        CONSTRAINT events_event_id_key UNIQUE (event_id)
      )`);
    await client.query(
      `CREATE INDEX IF NOT EXISTS events_category_position_idx ON ${names.table} (category, position)`,
    );
    await client.query(appendFunctionSql(names));
    await client.query(appendManyFunctionSql(names));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
