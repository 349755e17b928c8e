import { createContracts } from '@openpenpal/contracts';
import { sampleTrigger } from '@openpenpal/contracts/samples';
import {
  createAiReplyRepository,
  migrateDomain,
  type AiReplyRepository,
  type ClaimedReply,
} from '@openpenpal/domain';
import { createProducer } from '@openpenpal/messaging';
import { createPgTestContext, testKafkaClient, uniqueName, type PgTestContext } from '@openpenpal/test-kit';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createGenerator } from '../src/provider/generator.ts';
import { createReplyHandler } from '../src/reply/handler.ts';
import { createReplyMetrics } from '../src/reply/metrics.ts';

// The handler's reply path against a real PostgreSQL, with the database failing at the worst moment:
// after a claim, for the write and for the release of the claim (as when PostgreSQL restarts).

const stack = inject('stack');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let pg: PgTestContext | undefined;

afterEach(async () => {
  await pg?.close();
  pg = undefined;
});

const connectionLost = () => new Error('Connection terminated unexpectedly');

/** The repository, with `complete` and `unclaim` failing once for each id given to `failNext`. */
function failingOnce(repository: AiReplyRepository): AiReplyRepository & { failNext: (id: string) => void } {
  const completeFails = new Set<string>();
  const unclaimFails = new Set<string>();
  const once = (set: Set<string>, reply: ClaimedReply) => set.delete(reply.id);
  const failNext = (id: string) => {
    completeFails.add(id);
    unclaimFails.add(id);
  };
  return {
    failNext,
    ...repository,
    complete: async (reply, ...rest) => {
      if (once(completeFails, reply)) throw connectionLost();
      return repository.complete(reply, ...rest);
    },
    unclaim: async (reply) => {
      if (once(unclaimFails, reply)) throw connectionLost();
      return repository.unclaim(reply);
    },
  };
}

async function world() {
  pg = await createPgTestContext(stack);
  await migrateDomain({ databaseUrl: stack.databaseUrl, schema: pg.schema });
  const real = createAiReplyRepository({ pool: pg.pool, schema: pg.schema });
  const repository = failingOnce(real);
  const clock = { now: () => Date.now() };
  const handler = createReplyHandler({
    repository,
    // No provider: every reply is the persona's template (the provider is not what this is about).
    generator: createGenerator({
      chat: undefined,
      providerName: 'none',
      timeoutMs: 1_000,
      maxAttempts: 1,
      retryInitialDelayMs: 10,
      retryMaxDelayMs: 10,
      breakerThreshold: 5,
      breakerHalfOpenAfterMs: 1_000,
    }),
    // Only encodes (the outbox sends); never connects.
    producer: createProducer({ kafka: testKafkaClient(stack), contracts: createContracts(), logger }),
    bindings: {
      delivered: { topic: 'delivered', schema: 'AiReplyDelivered' },
      notifications: { topic: 'notify', schema: 'NotificationRequested' },
    },
    metrics: createReplyMetrics(new Registry(), real, clock),
    clock,
    claimMs: 60_000,
    concurrency: 4,
  });
  const context = pg;
  const dueReply = async (dueInMs = -60_000) => {
    const id = uniqueName('reply');
    const letterId = uniqueName('ltr');
    await context.pool.query(`INSERT INTO letters (id, user_id, content) VALUES ($1, 'u1', 'hello')`, [
      letterId,
    ]);
    await context.pool.query(
      `INSERT INTO ai_replies (id, original_letter_id, persona, scheduled_at, status, user_id, requested_at)
       VALUES ($1, $2, 'poet', $3, 'scheduled', 'u1', now() - interval '1 hour')`,
      [id, letterId, new Date(Date.now() + dueInMs)],
    );
    return { id, letterId };
  };
  /** Runs one attempt of `id`'s exact trigger, aborted after `timeoutMs`. */
  const trigger = (id: string, attempt = 1, timeoutMs = 20_000) =>
    handler.handle({
      trigger: sampleTrigger({
        task_id: 'ai_penpal_reply',
        task_type: 'ai_penpal_reply',
        source: 'delayed',
        business_key: id,
        nominal_time: Date.now(),
        attempt,
        payload: '{}',
      }),
      payload: {},
      signal: AbortSignal.timeout(timeoutMs),
      logger,
    });
  const replies = async (letterId: string) => {
    const { rows } = await context.pool.query<{ status: string; letters: number }>(
      `SELECT r.status, (SELECT count(*)::int FROM letters AS l WHERE l.reply_to = r.original_letter_id) AS letters
       FROM ai_replies AS r WHERE r.original_letter_id = $1`,
      [letterId],
    );
    return rows;
  };
  return { pg: context, dueReply, trigger, replies, failNext: repository.failNext };
}

describe('AI reply claims held when the database fails', () => {
  it('writes a reply on its retry when the first attempt could neither write it nor give its claim back', async () => {
    const w = await world();
    const { id, letterId } = await w.dueReply();
    w.failNext(id);
    await expect(w.trigger(id, 1)).rejects.toThrow('Connection terminated');
    // The claim is given back in the background once the database answers again.
    const outcome = await w.trigger(id, 2);
    expect(outcome).toMatchObject({ status: 'succeeded', result: { ai_reply_id: id, sent: 1 } });
    expect(await w.replies(letterId)).toEqual([{ status: 'sent', letters: 1 }]);
  });

  it('writes a reply whose own trigger came while another trigger wrote it as a companion and failed', async () => {
    const w = await world();
    const first = await w.dueReply(-120_000);
    const companion = await w.dueReply();
    w.failNext(companion.id);
    // The first trigger claims both; the companion's write and release fail.
    expect(await w.trigger(first.id)).toMatchObject({
      status: 'succeeded',
      result: { sent: 1, failed: 1 },
    });
    const outcome = await w.trigger(companion.id);
    expect(outcome).toMatchObject({ status: 'succeeded', result: { ai_reply_id: companion.id } });
    expect(await w.replies(first.letterId)).toEqual([{ status: 'sent', letters: 1 }]);
    expect(await w.replies(companion.letterId)).toEqual([{ status: 'sent', letters: 1 }]);
  });

  it('takes over a claim nobody gives back when it expires, and writes the reply once', async () => {
    const w = await world();
    const { id, letterId } = await w.dueReply();
    const until = Date.now() + 1_500;
    // A worker claimed it and died: its claim is never given back.
    await w.pg.pool.query(
      `UPDATE ai_replies SET status = 'generating', claim_token = 'dead-worker', claimed_until = $2 WHERE id = $1`,
      [id, new Date(until)],
    );
    const outcome = await w.trigger(id);
    expect(outcome).toMatchObject({ status: 'succeeded', result: { ai_reply_id: id, sent: 1 } });
    expect(Date.now()).toBeGreaterThanOrEqual(until);
    expect(await w.replies(letterId)).toEqual([{ status: 'sent', letters: 1 }]);
  });

  it('ends at once, without waiting, for a reply that is already sent or not yet due', async () => {
    const w = await world();
    const sent = await w.dueReply();
    expect(await w.trigger(sent.id)).toMatchObject({ status: 'succeeded' });
    expect(await w.trigger(sent.id, 1, 2_000)).toMatchObject({ status: 'skipped', reason: 'already_done' });
    const later = await w.dueReply(3_600_000);
    expect(await w.trigger(later.id, 1, 2_000)).toMatchObject({
      status: 'skipped',
      reason: 'not_applicable',
    });
    expect(await w.replies(later.letterId)).toEqual([{ status: 'scheduled', letters: 0 }]);
  });
});
