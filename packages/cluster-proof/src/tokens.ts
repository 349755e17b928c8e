import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Acquisition } from './records.ts';

/**
 * What the run reads from PostgreSQL and the logs after the load. Where the fencing tokens show outside the triggers: every ticker process logs
 * `leadership acquired` with its token (pino JSON, `time` in epoch ms), and PostgreSQL keeps the
 * last token per lease in `ticker_fencing_tokens` (TICKER_LEASE_TOKENS=postgres).
 */
export function acquisitionsFromLogs(logDir: string, processes: readonly string[]): Acquisition[] {
  const found: Acquisition[] = [];
  for (const name of processes) {
    const file = join(logDir, `${name}.log`);
    if (!existsSync(file)) continue;
    found.push(...parseAcquisitions(name, readFileSync(file, 'utf8')));
  }
  return found;
}

export function parseAcquisitions(process: string, log: string): Acquisition[] {
  const found: Acquisition[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('leadership acquired')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; token?: number; time?: number };
      if (
        entry.msg === 'leadership acquired' &&
        typeof entry.token === 'number' &&
        typeof entry.time === 'number'
      ) {
        found.push({ process, token: entry.token, at: entry.time });
      }
    } catch {
      // A line cut by the SIGKILL: not an acquisition the process lived to log.
    }
  }
  return found;
}

/** Execution ids of tasks whose id starts with `prefix` in the recorder's `executions` read model. */
export async function recordedExecutions(
  databaseUrl: string,
  schema: string,
  prefix: string,
): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ execution_id: string }>(
      `SELECT execution_id FROM "${schema}".executions WHERE starts_with(task_id, $1)`,
      [prefix],
    );
    return result.rows.map((row) => row.execution_id);
  } finally {
    await client.end();
  }
}

/** The highest token PostgreSQL handed out (null when the table does not exist). */
export async function storedToken(databaseUrl: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ token: string | null }>(
      'SELECT max(token)::text AS token FROM ticker_fencing_tokens',
    );
    const token = result.rows[0]?.token;
    return token === null || token === undefined ? null : Number(token);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return null;
    throw error;
  } finally {
    await client.end();
  }
}
