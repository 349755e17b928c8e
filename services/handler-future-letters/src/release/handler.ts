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
        // Letters fall due together (a class's letters to the next year all open at 00:00): the
        // first exact trigger of an instant releases every due letter in batches, so none waits for
        // its own trigger to come up in the queue; those triggers then find their letter released.
        const others = await releaseAllDue(deps, now, messages, signal);
        deps.metrics.unlocked.inc((letter ? 1 : 0) + others);
        if (letter === null) {
          return {
            status: 'skipped',
            reason: 'not_applicable',
            detail: `letter ${trigger.business_key} is not releasable now (already released, cancelled, deleted, unknown or not due)`,
          };
        }
        logger.info({ letterId: letter.letterId, alsoReleased: others }, 'future letter released');
        return { status: 'succeeded', result: { released: 1 + others, letter_id: letter.letterId } };
      }
      const released = await releaseAllDue(deps, now, messages, signal);
      deps.metrics.unlocked.inc(released);
      if (released > 0) logger.info({ released }, 'sweep released future letters');
      return { status: 'succeeded', result: { released } };
    },
  });
}

/** Releases due letters batch by batch until none is left (or others hold the rest); returns how many. */
async function releaseAllDue(
  deps: ReleaseHandlerDeps,
  now: Date,
  messages: ReturnType<typeof releaseMessagesFor>,
  signal: AbortSignal,
): Promise<number> {
  let released = 0;
  for (;;) {
    const batch = await deps.repository.releaseDue(now, deps.sweepBatch, messages);
    released += batch.length;
    if (batch.length < deps.sweepBatch || signal.aborted) return released;
  }
}

function releaseMessagesFor(deps: ReleaseHandlerDeps, executionId: string) {
  return (letter: Parameters<typeof releaseMessages>[3]) =>
    releaseMessages(deps.producer, deps.bindings, { execution_id: executionId }, letter);
}
