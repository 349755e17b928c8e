import { SchedulerError, isSchedulerError, type ErrorCode } from '@openpenpal/errors';
import type { FastifyError, FastifyPluginCallback } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { errorBodyOf, statusOf } from '../http/errors.ts';

interface Problem {
  field: string;
  problem: string;
}

/** Fastify's own client errors (bad JSON, body too large, wrong media type) by their code. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
};

const GENERIC_5XX: Partial<Record<ErrorCode, string>> = {
  DEPENDENCY_UNAVAILABLE: 'a dependency of the API is unavailable; try again shortly',
  SHUTTING_DOWN: 'the API is shutting down; try another instance',
  TIMEOUT: 'the operation did not finish in time; try again',
  CIRCUIT_OPEN: 'a dependency is failing; try again shortly',
};

/**
 * Every error leaves as `{error, code, details}`. Request validation names each field (`body.name`,
 * `query.page_size`); 5xx answers never carry internals (driver messages, stacks), which go to the
 * log with the request id instead.
 */
const errors: FastifyPluginCallback = (app, _options, done) => {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const problems: Problem[] = error.validation.map((issue) => ({
        field: [error.validationContext ?? 'body', ...issue.instancePath.split('/').filter(Boolean)].join(
          '.',
        ),
        problem: issue.message ?? 'invalid',
      }));
      const first = problems[0] ?? { field: '(input)', problem: 'invalid' };
      return reply.code(400).send({
        error: `invalid request: ${problems.map((p) => `${p.field}: ${p.problem}`).join('; ')}`,
        code: 'VALIDATION_FAILED',
        details: { field: first.field, problem: first.problem, problems },
      });
    }
    if (isResponseSerializationError(error)) {
      request.log.error({ err: error, issues: error.cause.issues }, 'response does not match its schema');
      return reply.code(500).send(errorBodyOf(error).body);
    }
    const code = isSchedulerError(error) ? error.code : error.code ? FASTIFY_CODES[error.code] : undefined;
    if (code !== undefined && !isSchedulerError(error)) {
      return reply.code(statusOf(code)).send({ error: error.message, code, details: {} });
    }
    if (isSchedulerError(error) && statusOf(error.code) >= 500) {
      request.log.error({ err: error }, 'request failed');
      const generic = GENERIC_5XX[error.code];
      if (generic !== undefined) {
        if (error.code === 'DEPENDENCY_UNAVAILABLE' || error.code === 'SHUTTING_DOWN') {
          void reply.header('retry-after', '5');
        }
        return reply.code(statusOf(error.code)).send({ error: generic, code: error.code, details: {} });
      }
    }
    if (!isSchedulerError(error)) {
      request.log.error({ err: error }, 'request failed');
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        return reply
          .code(error.statusCode)
          .send({ error: error.message, code: 'VALIDATION_FAILED', details: {} });
      }
    }
    const { status, body } = errorBodyOf(error);
    if (status === 429 && isSchedulerError(error)) {
      const retry = error.details.retry_after_ms;
      if (typeof retry === 'number') void reply.header('retry-after', String(Math.ceil(retry / 1000)));
    }
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({
      error: `no route ${request.method} ${request.url.split('?')[0] ?? ''}`,
      code: 'NOT_FOUND',
      details: {},
    }),
  );
  done();
};

export const errorsPlugin = fastifyPlugin(errors, { name: 'openpenpal-api-errors' });

/** NOT_FOUND for an addressed thing. */
export function notFound(what: string, details: Record<string, unknown>): SchedulerError {
  return new SchedulerError('NOT_FOUND', `${what} not found`, { details });
}
