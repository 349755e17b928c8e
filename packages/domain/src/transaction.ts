import { SchedulerError } from '@openpenpal/errors';
import type pg from 'pg';

/** SQLSTATE classes that mean the database is not there for us now (not that the statement is wrong). */
const OUTAGE = /^(08|53|57P|58)/;

/** PostgreSQL unreachable or restarting is DEPENDENCY_UNAVAILABLE (consumers hold the partition). */
export function classifyPgError(what: string, error: unknown): unknown {
  if (error instanceof SchedulerError) return error;
  const code = (error as { code?: unknown }).code;
  const network = typeof code === 'string' && (OUTAGE.test(code) || code.startsWith('E'));
  const message = error instanceof Error ? error.message : String(error);
  if (network || /Connection terminated|connect ECONNREFUSED|timeout/i.test(message)) {
    return new SchedulerError('DEPENDENCY_UNAVAILABLE', `PostgreSQL did not take ${what}: ${message}`, {
      cause: error,
    });
  }
  return error;
}

/**
 * Runs `work` in one transaction (READ COMMITTED), committing when it resolves. While the client is
 * checked out it listens for its connection's end: PostgreSQL ending the session between two
 * statements (a restart ends every session, idle ones too) is emitted as an 'error' on the client,
 * which without a listener ends the process; here it fails the transaction as DEPENDENCY_UNAVAILABLE.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  what: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw classifyPgError(what, error);
  }
  const session: { lost?: Error } = {};
  const onLost = (error: Error) => {
    session.lost = error;
  };
  client.on('error', onLost);
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    // "Client has encountered a connection error" says less than the error that ended the session.
    throw classifyPgError(what, session.lost ?? error);
  } finally {
    client.off('error', onLost);
    client.release(session.lost !== undefined || broken);
  }
}
