import { setTimeout as sleep } from 'node:timers/promises';
import type { AiReplyRepository, ClaimedReply, ReplyClaimState, SentReply } from '@openpenpal/domain';
import { isSchedulerError } from '@openpenpal/errors';
import { defineTaskHandler } from '@openpenpal/handler-kit';
import type { Producer } from '@openpenpal/messaging';
import { retry, type Clock } from '@openpenpal/timing';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Generator } from '../provider/generator.ts';
import { replyMessages, type ReplyBindings } from './messages.ts';
import type { ReplyMetrics } from './metrics.ts';

export interface ReplyHandlerDeps {
  repository: AiReplyRepository;
  generator: Generator;
  producer: Pick<Producer, 'encode'>;
  bindings: ReplyBindings;
  metrics: ReplyMetrics;
  clock: Pick<Clock, 'now'>;
  claimMs: number;
  /** Replies generated in parallel per trigger. */
  concurrency: number;
}

interface Drained {
  sent: number;
  fallback: number;
  failed: number;
  cancelled: number;
  named: 'sent' | 'failed' | 'lost' | 'cancelled' | null;
  error?: unknown;
}

/**
 * An exact-time trigger (`source: delayed` or a retry of one, `business_key` = the ai_replies id)
 * writes its reply, and — as a wake-up — the other replies due now, in parallel; any other trigger
 * (the hourly sweep, run-now) writes every reply past due. Each reply is claimed first
 * (`scheduled → generating`), generated with no transaction open, and written with its letter and
 * messages only while the claim is still ours: never twice for one request.
 */
export function createReplyHandler(deps: ReplyHandlerDeps) {
  return defineTaskHandler({
    taskType: 'ai_penpal_reply',
    payloadSchema: z.object({}).loose(),
    handle: async ({ trigger, signal, logger }) => {
      const context = { trigger, signal, logger, lastChance: trigger.attempt > trigger.max_retries };
      const named = trigger.business_key;
      if (named) {
        const drained = await drainNamed(deps, context, named);
        if (drained.named === 'failed') throw drained.error;
        if (drained.named === null) {
          const status = await deps.repository.status(named);
          return {
            status: 'skipped',
            reason:
              status === 'sent' ? 'already_done' : status === 'cancelled' ? 'cancelled' : 'not_applicable',
            detail: `ai reply ${named} is ${status ?? 'unknown'}${status === 'generating' ? ' by another worker' : ''}`,
          };
        }
        if (drained.named === 'cancelled') {
          return {
            status: 'skipped',
            reason: 'cancelled',
            detail: `the letter of ai reply ${named} is gone`,
          };
        }
        if (drained.named === 'lost') {
          return { status: 'skipped', reason: 'already_done', detail: `ai reply ${named} was taken over` };
        }
        return { status: 'succeeded', result: { ai_reply_id: named, ...counts(drained) } };
      }
      const total = { sent: 0, fallback: 0, failed: 0, cancelled: 0 };
      for (;;) {
        const drained = await drain(deps, context, null);
        total.sent += drained.sent;
        total.fallback += drained.fallback;
        total.failed += drained.failed;
        total.cancelled += drained.cancelled;
        // Nothing (claimable) left due, or the provider fails everything: the next sweep goes on.
        if (drained.sent + drained.cancelled === 0 || signal.aborted) break;
      }
      if (total.sent + total.failed + total.cancelled > 0) logger.info(total, 'sweep wrote AI replies');
      return { status: 'succeeded', result: total };
    },
  });
}

const counts = (d: Drained) => ({
  sent: d.sent,
  fallback: d.fallback,
  failed: d.failed,
  cancelled: d.cancelled,
});

type Context = {
  trigger: { execution_id: string; nominal_time: number };
  signal: AbortSignal;
  logger: Logger;
  lastChance: boolean;
};

/** How often a trigger looks again at its reply while another worker holds it: from the first to the second, doubling. */
const HELD_POLL_MS = [100, 2_000] as const;

/**
 * Drains for the named reply until this trigger wrote it or it needs nothing more from it. A reply
 * held by another live claim — a drain writing it as a companion, or a claim whose release is still
 * under way after the database went away — is waited for, never skipped: its holder may yet give it
 * back, and this trigger is then the one that writes it (a claim nobody gives back is taken over when
 * it expires).
 */
async function drainNamed(deps: ReplyHandlerDeps, context: Context, named: string): Promise<Drained> {
  for (let pause: number = HELD_POLL_MS[0]; ; pause = Math.min(pause * 2, HELD_POLL_MS[1])) {
    const drained = await drain(deps, context, named);
    if (drained.named !== null) return drained;
    const state = await deps.repository.claimState(named);
    const now = deps.clock.now();
    if (!isHeld(state, Math.max(now, context.trigger.nominal_time))) return drained;
    const expiresIn = state.claimedUntil ? state.claimedUntil.getTime() - now + 1 : pause;
    // Aborted at the attempt's timeout or at shutdown: the attempt fails and is retried.
    await sleep(Math.max(1, Math.min(pause, expiresIn)), undefined, { signal: context.signal });
  }
}

/**
 * Whether a reply its trigger could not claim is in someone else's hands rather than done: generating
 * (under a live claim, or one that just expired), or due and scheduled (a concurrent claim has the row
 * locked at this moment).
 */
function isHeld(state: ReplyClaimState | null, dueBy: number): state is ReplyClaimState {
  if (state?.status === 'generating') return true;
  return state?.status === 'scheduled' && state.scheduledAt.getTime() <= dueBy;
}

/** Claims the named reply (when due) and up to `concurrency` due ones, and writes them all. */
async function drain(deps: ReplyHandlerDeps, context: Context, named: string | null): Promise<Drained> {
  const now = new Date(deps.clock.now());
  const claimed = await deps.repository.claim(
    named,
    now,
    deps.claimMs,
    named ? deps.concurrency - 1 : deps.concurrency,
    named ? new Date(context.trigger.nominal_time) : undefined,
  );
  const result: Drained = { sent: 0, fallback: 0, failed: 0, cancelled: 0, named: null };
  await Promise.all(
    claimed.map(async (reply) => {
      const isNamed = reply.id === named;
      // Companions take no last chance of the named one's execution: a failure leaves them to theirs.
      const outcome = await writeReply(deps, context, reply, isNamed && context.lastChance, {
        until: now.getTime() + deps.claimMs,
      });
      if (outcome.kind === 'sent') {
        result.sent += 1;
        if (outcome.reply.fallback) result.fallback += 1;
      } else if (outcome.kind === 'failed') result.failed += 1;
      else if (outcome.kind === 'cancelled') result.cancelled += 1;
      if (isNamed) {
        result.named = outcome.kind;
        if (outcome.kind === 'failed') result.error = outcome.error;
      }
    }),
  );
  return result;
}

type Outcome =
  | { kind: 'sent'; reply: SentReply }
  | { kind: 'lost' }
  | { kind: 'cancelled' }
  | { kind: 'failed'; error: unknown };

async function writeReply(
  deps: ReplyHandlerDeps,
  context: Context,
  reply: ClaimedReply,
  lastChance: boolean,
  claim: { until: number },
): Promise<Outcome> {
  try {
    if (!reply.letterExists) {
      // The user deleted the letter after asking: no reply to a letter that is gone.
      context.logger.info({ aiReplyId: reply.id }, 'AI reply cancelled: the original letter is gone');
      return (await deps.repository.cancel(reply)) ? { kind: 'cancelled' } : { kind: 'lost' };
    }
    const generated = await deps.generator.generate(reply, { lastChance, signal: context.signal });
    const sent = await deps.repository.complete(reply, generated, new Date(deps.clock.now()), (r) =>
      replyMessages(deps.producer, deps.bindings, context.trigger, r),
    );
    if (sent === null) {
      context.logger.warn(
        { aiReplyId: reply.id },
        'claim expired before the reply was written; another worker has it',
      );
      return { kind: 'lost' };
    }
    deps.metrics.sent.inc({ provider: sent.fallback ? 'template' : 'generated' });
    return { kind: 'sent', reply: sent };
  } catch (error) {
    if (isSchedulerError(error) && ['PROVIDER_FAILED', 'TIMEOUT'].includes(error.code)) {
      deps.metrics.providerFailures.inc();
    }
    context.logger.warn(
      { aiReplyId: reply.id, code: isSchedulerError(error) ? error.code : undefined },
      `AI reply not written: ${(error as Error).message}`,
    );
    // Back to scheduled at once, so the retry (or the trigger waiting for it) need not wait for the
    // claim to expire. When the database is what failed, the release is tried again in the background.
    await deps.repository.unclaim(reply).catch(() => releaseLater(deps, reply, claim.until, context));
    return { kind: 'failed', error };
  }
}

/** Tries to give `reply`'s claim back: until it works, the claim expires or the attempt is aborted. */
function releaseLater(deps: ReplyHandlerDeps, reply: ClaimedReply, until: number, context: Context): void {
  retry(() => deps.repository.unclaim(reply), {
    initialDelayMs: 100,
    maxDelayMs: 2_000,
    deadline: until,
    signal: context.signal,
    clock: deps.clock,
  }).then(
    () => context.logger.info({ aiReplyId: reply.id }, 'AI reply claim given back after the failure'),
    () =>
      context.logger.warn(
        { aiReplyId: reply.id, claimedUntil: new Date(until).toISOString() },
        'AI reply claim could not be given back; it is taken over when it expires',
      ),
  );
}
