import { SchedulerError } from '@openpenpal/errors';
import { z } from 'zod';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,59}$/;

/** A config value naming a PostgreSQL schema (a lower-case identifier, so it can be quoted safely). */
export const domainSchemaName = z.string().regex(IDENTIFIER, 'a lower-case PostgreSQL identifier');

/**
 * `"schema".table` for SQL text. Identifiers cannot travel as parameters; the name is checked
 * against a closed pattern first, and every value still goes as a parameter.
 */
export function qualified(schema: string, table: string): string {
  if (!IDENTIFIER.test(schema) || !IDENTIFIER.test(table)) {
    throw new SchedulerError('CONFIG_INVALID', `not a lower-case PostgreSQL identifier: ${schema}.${table}`);
  }
  return `"${schema}"."${table}"`;
}
