/** Every SQL name the adapter uses, derived from one validated schema name. */
export interface PgNames {
  schema: string;
  /** `"<schema>".events`, safe to splice into SQL: the schema name was validated and quoted. */
  table: string;
  /** The PL/pgSQL append function (append-function.ts). */
  appendFunction: string;
  /** The PL/pgSQL multi-stream append function (append-many-function.ts). */
  appendManyFunction: string;
  /** The bigserial's sequence, named by PostgreSQL after the table and column. */
  sequence: string;
  /** Held in shared mode by every append transaction: readers see who is still appending (watermark.ts). */
  appendLockKey: string;
  /** Prefix of the exclusive per-stream lock that makes the expected-revision check race-free. */
  streamLockPrefix: string;
  migrationLockKey: string;
  /** The LISTEN/NOTIFY channel; quoted for LISTEN, passed as a parameter to pg_notify. */
  channel: string;
}
