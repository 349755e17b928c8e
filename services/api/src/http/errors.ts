import { isSchedulerError, type ErrorCode } from '@openpenpal/errors';
import { z } from 'zod';
import { ERROR_EXAMPLE } from './examples.ts';

/**
 * The platform's error shape `{error, details}`, plus `code`: a stable code from the closed list in
 * docs/errors.md that clients branch on (`error` is the human text and may change).
 */
export const errorBody = z
  .object({
    error: z.string().describe('what went wrong, for people'),
    code: z.string().describe('stable code from docs/errors.md (VALIDATION_FAILED, NOT_FOUND, ...)'),
    details: z.record(z.string(), z.unknown()).describe('structured context: the field, the id, ...'),
  })
  .meta({ id: 'Error', example: ERROR_EXAMPLE });

export type ErrorBody = z.output<typeof errorBody>;

const STATUS: Partial<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  DEPENDENCY_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  CIRCUIT_OPEN: 503,
  TIMEOUT: 504,
};

/** The HTTP status of a code; codes the caller cannot act on are 500. */
export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** The response body for an error: a SchedulerError's code, text and details, never a stack. */
export function errorBodyOf(error: unknown): { status: number; body: ErrorBody } {
  if (isSchedulerError(error)) {
    const status = statusOf(error.code);
    if (status >= 500 && status !== 503 && status !== 504) return internal();
    return { status, body: { error: error.message, code: error.code, details: error.details } };
  }
  return internal();
}

function internal(): { status: number; body: ErrorBody } {
  return {
    status: 500,
    body: { error: 'internal error; the request id is in the logs', code: 'INTERNAL', details: {} },
  };
}

/** Responses every route may give, for its schema (so the OpenAPI document lists them). */
export function errorResponses(...statuses: number[]): Record<number, typeof errorBody> {
  return Object.fromEntries(statuses.map((status) => [status, errorBody]));
}
