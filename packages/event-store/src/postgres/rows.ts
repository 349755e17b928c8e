import { SchedulerError, isSchedulerError } from '@openpenpal/errors';
import type { JsonObject, RecordedEvent } from '../port.ts';

/** A row as node-postgres returns it: bigint columns arrive as strings, jsonb already parsed. */
export interface EventRow {
  position: string;
  stream_id: string;
  revision: string;
  event_id: string;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  created_at: Date;
}

export const EVENT_COLUMNS = 'position, stream_id, revision, event_id, type, data, metadata, created_at';

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    revision: BigInt(row.revision),
    position: BigInt(row.position),
    createdAt: row.created_at,
  };
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/**
 * Classifies a driver error: lost or refused connections are DEPENDENCY_UNAVAILABLE (retryable), data
 * the database rejects (SQLSTATE class 22, e.g. a NUL character in jsonb) is VALIDATION_FAILED, a missing
 * table or privilege (class 42) is INTERNAL. Anything else (a serialization failure, a deadlock) passes
 * through unchanged and counts as retryable by isRetryable().
 */
export function classifyPgError(error: unknown, operation: string): unknown {
  if (isSchedulerError(error)) return error;
  const code = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  const unavailable =
    (code !== undefined && (CONNECTION_ERRORS.has(code) || /^(08|57P|53)/.test(code))) ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
  if (unavailable) {
    return new SchedulerError('DEPENDENCY_UNAVAILABLE', `PostgreSQL unavailable during ${operation}`, {
      cause: error,
      details: { operation, ...(code === undefined ? {} : { sqlState: code }) },
    });
  }
  if (code?.startsWith('22')) {
    return new SchedulerError(
      'VALIDATION_FAILED',
      `PostgreSQL rejected the data of ${operation}: ${message}`,
      {
        cause: error,
        details: { operation, sqlState: code },
      },
    );
  }
  if (code?.startsWith('42')) {
    // Undefined table or column, or a privilege missing: a deployment fault (was migrate() run?), not a
    // state that passes with retries.
    return new SchedulerError('INTERNAL', `PostgreSQL refused ${operation}: ${message}`, {
      cause: error,
      details: { operation, sqlState: code },
    });
  }
  return error;
}
