import { findTopic } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import { republishStreamEvents } from '@openpenpal/replay';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';

export const republishBody = z
  .object({
    topic: z
      .string()
      .max(249)
      .optional()
      .describe("default: the stream kind's own topic (execution events, task definitions)"),
    from_revision: z.int().min(0).optional(),
    to_revision: z.int().min(0).optional(),
  })
  .nullish()
  .meta({ example: { topic: 'scheduler.execution-events' } });

export const republishAnswer = z
  .object({
    published: z.int(),
    first_revision: z.string().nullable(),
    last_revision: z.string().nullable(),
    topic: z.string(),
  })
  .meta({ id: 'RepublishResult' });

type Kind = 'task' | 'execution';
const SCHEMA: Record<Kind, string> = { task: 'TaskDefinition', execution: 'ExecutionEvent' };

/**
 * Where recorded events may be re-published: the configured topic of the stream's kind, or any
 * catalogued topic carrying the same value schema — never an arbitrary topic, whose consumers would
 * read values of another schema.
 */
function topicOf(deps: ApiDeps, kind: Kind, requested: string | undefined): string {
  const own = kind === 'task' ? deps.config.API_DEFINITIONS_TOPIC : deps.config.API_EXECUTION_EVENTS_TOPIC;
  if (requested === undefined || requested === own) return own;
  if (findTopic(requested)?.valueSchema === SCHEMA[kind]) return requested;
  throw new SchedulerError(
    'VALIDATION_FAILED',
    `invalid request: body.topic: a topic carrying ${SCHEMA[kind]}`,
    {
      details: { field: 'body.topic', problem: `${own} or another catalogued ${SCHEMA[kind]} topic` },
    },
  );
}

export async function republish(
  deps: ApiDeps,
  kind: Kind,
  streamId: string,
  body: z.output<typeof republishBody>,
): Promise<z.output<typeof republishAnswer>> {
  const topic = topicOf(deps, kind, body?.topic);
  const result = await republishStreamEvents(
    { store: deps.store, producer: deps.producer, contracts: deps.contracts },
    {
      streamId,
      topic,
      range: {
        ...(body?.from_revision === undefined ? {} : { fromRevision: BigInt(body.from_revision) }),
        ...(body?.to_revision === undefined ? {} : { toRevision: BigInt(body.to_revision) }),
      },
    },
  );
  return {
    published: result.published,
    first_revision: result.firstRevision?.toString() ?? null,
    last_revision: result.lastRevision?.toString() ?? null,
    topic,
  };
}
