import type { FastifySchema } from 'fastify';
import { z } from 'zod';

/** Schemas of the runtime's ops routes (`opsRoutes`), attached when they register in the API's app. */
export const opsSchemas: Record<string, FastifySchema> = {
  '/healthz': {
    tags: ['ops'],
    summary: 'The process runs',
    response: { 200: z.object({ status: z.literal('ok') }).meta({ example: { status: 'ok' } }) },
  },
  '/readyz': {
    tags: ['ops'],
    summary: 'Every dependency answers (Kafka, PostgreSQL, Redis, the event store)',
    response: {
      200: z.looseObject({ status: z.literal('ready'), checks: z.record(z.string(), z.boolean()) }).meta({
        example: {
          status: 'ready',
          checks: { started: true, kafka: true, postgres: true, 'redis:state': true, 'event-store': true },
        },
      }),
      503: z.looseObject({
        status: z.literal('not_ready'),
        checks: z.record(z.string(), z.boolean()),
        reasons: z.record(z.string(), z.string().optional()),
      }),
    },
  },
  '/metrics': {
    tags: ['ops'],
    summary: 'Prometheus metrics (text exposition format)',
    response: {
      200: z
        .string()
        .describe('Prometheus text format')
        .meta({ example: 'scheduler_event_replay_attempts_total{service="api"} 0\n' }),
    },
  },
};
