import { unionBranch, type Contracts, type ExecutionEvent } from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import {
  createConsumerRunner,
  subscription,
  type ConsumerRunner,
  type Producer,
} from '@openpenpal/messaging';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Scheduler } from './scheduler.ts';
import type { TickerStore } from './store.ts';

interface ConsumerDeps {
  kafka: Kafka;
  contracts: Contracts;
  producer: Producer;
  logger: Logger;
  topic: string;
  groupId: string;
}

function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new SchedulerError('SHUTTING_DOWN', 'the command consumer is closing'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/**
 * Operator commands, consumed by the leader only (it starts this on taking the lease and closes
 * it on losing it), in one group shared by every replica so a command is applied once. The offset
 * is committed after the scheduler made the command durable. While the ticker cannot apply a
 * command (Redis or Kafka down) the handler keeps retrying rather than dead-letter it; closing
 * aborts it uncommitted, for the next leader.
 */
export function createCommandConsumer(deps: ConsumerDeps & { scheduler: Scheduler }): ConsumerRunner {
  const logger = deps.logger.child({ component: 'commands' });
  return createConsumerRunner({
    ...deps,
    logger,
    fromBeginning: false,
    retry: { attempts: 100, initialDelayMs: 200, maxDelayMs: 2_000 },
    // A crashed leader's membership must not hold the partitions long after a takeover.
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    shutdownDeadlineMs: 2_000,
    maxWaitTimeMs: 250,
    subscriptions: [
      subscription({ topic: deps.topic, schema: 'TaskCommand' }, async (message, { signal }) => {
        const command = message.value;
        const outcome = await Promise.race([deps.scheduler.command(command), whenAborted(signal)]);
        logger.info(
          {
            commandId: command.command_id,
            command: command.command,
            taskId: command.task_id,
            by: command.requested_by,
            outcome,
          },
          'command handled',
        );
      }),
    ],
  });
}

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
 * is applied once, by whichever replica holds its partition.
 */
export function createRunningTracker(
  deps: ConsumerDeps & { store: TickerStore; forbids: (taskId: string) => boolean },
): ConsumerRunner {
  const logger = deps.logger.child({ component: 'running-tracker' });
  return createConsumerRunner({
    ...deps,
    logger,
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
  });
}
