import { SchedulerError } from '@openpenpal/errors';
import type { LetterCleanupRepository } from '@openpenpal/domain';
import { defineTaskHandler } from '@openpenpal/handler-kit';
import type { Producer } from '@openpenpal/messaging';
import type { Clock } from '@openpenpal/timing';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { cleanupMessages, type CleanupBindings } from './messages.ts';

export interface CleanupHandlerDeps {
  repository: LetterCleanupRepository;
  producer: Pick<Producer, 'encode'>;
  bindings: CleanupBindings;
  clock: Pick<Clock, 'now'>;
  registry: Registry;
  batchSize: number;
  deletionDays: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The seeded task's payload (openpenpal-domain.md §1). */
const payloadSchema = z.object({
  days_old: z.number().int().min(1).max(3_650).default(7),
  target_status: z.literal('draft_cleanup').default('draft_cleanup'),
});

/**
 * Walks the draft and generated letters in id order, one bounded batch per transaction, moving the
 * old unbound ones to `draft_cleanup`. A re-run (retry, run-now, replay) finds the moved letters
 * gone from the candidates, so each letter moves, and its author hears of it, once.
 */
export function createCleanupHandler(deps: CleanupHandlerDeps) {
  const moved = new Counter({
    name: 'scheduler_letters_moved_to_cleanup_total',
    help: 'Letters moved to draft_cleanup by this process.',
    registers: [deps.registry],
  });
  return defineTaskHandler({
    taskType: 'letter_cleanup',
    payloadSchema,
    handle: async ({ trigger, payload, signal, logger }) => {
      const now = new Date(deps.clock.now());
      const cutoff = new Date(now.getTime() - payload.days_old * DAY_MS);
      const context = { executionId: trigger.execution_id, deletionDays: deps.deletionDays };
      let afterId: string | null = null;
      let total = 0;
      let scanned = 0;
      do {
        if (signal.aborted) throw new SchedulerError('TIMEOUT', `cleanup stopped after ${total} letters`);
        const batch = await deps.repository.moveBatch({
          afterId,
          limit: deps.batchSize,
          cutoff,
          now,
          targetStatus: payload.target_status,
          messages: (letter) => cleanupMessages(deps.producer, deps.bindings, context, letter),
        });
        total += batch.moved.length;
        scanned += batch.scanned;
        moved.inc(batch.moved.length);
        afterId = batch.nextAfterId;
      } while (afterId !== null);
      logger.info({ moved: total, scanned, cutoff: cutoff.toISOString() }, 'letter cleanup done');
      return { status: 'succeeded', result: { moved: total, scanned, cutoff: cutoff.toISOString() } };
    },
  });
}
