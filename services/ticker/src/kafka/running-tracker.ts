import { unionBranch, type ExecutionEvent } from '@openpenpal/contracts';
import { subscription } from '@openpenpal/messaging';
import type { ServiceConsumerOptions } from '@openpenpal/service-kit';
import type { TickerStore } from '../store/store.ts';

/** Events after which an execution no longer runs. */
const FINISHED = new Set([
  'org.openpenpal.scheduler.ExecutionSucceeded',
  'org.openpenpal.scheduler.ExecutionDeadLettered',
  'org.openpenpal.scheduler.ExecutionSkipped',
]);

function finishes(event: ExecutionEvent): boolean {
  const branch = unionBranch(event.event);
  if (!FINISHED.has(branch.name)) return false;
  // The ticker's own concurrency skips are of executions that never held the running slot.
  return !(
    branch.name === 'org.openpenpal.scheduler.ExecutionSkipped' &&
    branch.value.reason === 'concurrency_forbidden'
  );
}

/**
 * Frees the running slot of forbid-policy tasks when their execution finishes (succeeded, dead
 * lettered, or skipped by its handler). Every replica is a member of one shared group: each event
 * is applied once, by whichever replica holds its partition. A new group starts at the end: a
 * slot older than the group is freed by its deadline.
 */
export function runningTracker(deps: {
  topic: string;
  store: TickerStore;
  forbids: (taskId: string) => boolean;
}): ServiceConsumerOptions {
  return {
    name: 'executions',
    fromBeginning: false,
    retry: { attempts: 20, initialDelayMs: 200, maxDelayMs: 5_000 },
    subscriptions: [
      subscription({ topic: deps.topic, schema: 'ExecutionEvent' }, async (message) => {
        const event = message.value;
        // A deleted task's slot went with its checkpoint; a task that allows overlap has none.
        if (!deps.forbids(event.task_id) || !finishes(event)) return;
        await deps.store.finishRunning(event.task_id, event.execution_id);
      }),
    ],
  };
}
