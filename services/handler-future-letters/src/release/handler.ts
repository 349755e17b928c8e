import type { FutureLetterRepository } from '@openpenpal/domain';
import { defineTaskHandler } from '@openpenpal/handler-kit';
import type { Producer } from '@openpenpal/messaging';
import type { Clock } from '@openpenpal/timing';
import { z } from 'zod';
import { releaseMessages, type ReleaseBindings } from './messages.ts';
import type { ReleaseMetrics } from './metrics.ts';

export interface ReleaseHandlerDeps {
  repository: FutureLetterRepository;
  producer: Pick<Producer, 'encode'>;
  bindings: ReleaseBindings;
  metrics: ReleaseMetrics;
  clock: Pick<Clock, 'now'>;
  sweepBatch: number;
}

/**
 * One letter for an exact-time trigger (`source: delayed`, `business_key` = the letter id); every
 * due letter for any other (the `*\/10` sweep, run-now, a replay). The release is conditional
 * (`scheduled` only, not cancelled, due), so a letter released by one is skipped by the other.
 */
export function createReleaseHandler(deps: ReleaseHandlerDeps) {
  return defineTaskHandler({
    taskType: 'future_letter_unlock',
    payloadSchema: z.object({}).loose(),
    handle: async ({ trigger, signal, logger }) => {
      const now = new Date(deps.clock.now());
      const messages = releaseMessagesFor(deps, trigger.execution_id);
      if (trigger.source === 'delayed' && trigger.business_key) {
        const letter = await deps.repository.release(trigger.business_key, now, messages);
        if (letter === null) {
          return {
            status: 'skipped',
            reason: 'not_applicable',
            detail: `letter ${trigger.business_key} is not releasable now (already released, cancelled, deleted, unknown or not due)`,
          };
        }
        deps.metrics.unlocked.inc();
        logger.info({ letterId: letter.letterId }, 'future letter released');
        return { status: 'succeeded', result: { released: 1, letter_id: letter.letterId } };
      }
      let released = 0;
      for (;;) {
        const batch = await deps.repository.releaseDue(now, deps.sweepBatch, messages);
        released += batch.length;
        deps.metrics.unlocked.inc(batch.length);
        // A batch shorter than asked means nothing due is left (or others hold the rest).
        if (batch.length < deps.sweepBatch || signal.aborted) break;
      }
      if (released > 0) logger.info({ released }, 'sweep released future letters');
      return { status: 'succeeded', result: { released } };
    },
  });
}

function releaseMessagesFor(deps: ReleaseHandlerDeps, executionId: string) {
  return (letter: Parameters<typeof releaseMessages>[3]) =>
    releaseMessages(deps.producer, deps.bindings, { execution_id: executionId }, letter);
}
