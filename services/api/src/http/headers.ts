import { SchedulerError } from '@openpenpal/errors';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

/** Headers the write routes read, for their schemas (and the OpenAPI document). */
export const writeHeaders = z.looseObject({
  'if-match': z
    .string()
    .optional()
    .describe('the task revision last seen, as its ETag ("3"); a newer revision is a 409 CONFLICT'),
  'idempotency-key': z
    .string()
    .max(128)
    .optional()
    .describe('repeats of a command with the same key are recorded once and answer the same'),
});

/** The revision an If-Match header names (`"3"`, `W/"3"` or `3`); undefined without one. */
export function expectedRevision(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header === '*') return undefined;
  const match = /^(?:W\/)?"?(-?\d{1,15})"?$/.exec(header.trim());
  if (match?.[1] === undefined) {
    throw new SchedulerError(
      'VALIDATION_FAILED',
      'invalid request: headers.if-match: an ETag this API gave ("3")',
      {
        details: { field: 'headers.if-match', problem: 'an ETag this API gave, e.g. "3"' },
      },
    );
  }
  return Number(match[1]);
}

/** The caller's idempotency key (`Idempotency-Key`), the command id of the events it records. */
export function commandIdOf(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined || key === '') return undefined;
  if (typeof key !== 'string' || key.length > 128 || /\p{Cc}/u.test(key)) {
    throw new SchedulerError('VALIDATION_FAILED', 'invalid request: headers.idempotency-key', {
      details: { field: 'headers.idempotency-key', problem: 'at most 128 characters, no control characters' },
    });
  }
  return key;
}

export function setETag(reply: FastifyReply, revision: number): void {
  void reply.header('etag', `"${revision}"`);
}
