import { SchedulerError } from '@openpenpal/errors';
import { subscription } from '@openpenpal/messaging';
import type { ServiceConsumerOptions } from '@openpenpal/service-kit';
import type { Logger } from 'pino';
import type { Scheduler } from '../firing/scheduler.ts';

function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new SchedulerError('SHUTTING_DOWN', 'the command consumer is closing'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/**
 * Operator commands, consumed by the leader only (it starts this on taking the lease and closes
 * it on losing it), in one group shared by every replica so a command is applied once: not a
 * readiness condition (`required: false`), since standbys never run it. The offset is committed
 * after the scheduler made the command durable. While the ticker cannot apply a command (Redis or
 * Kafka down) the handler keeps retrying rather than dead-letter it; closing aborts it
 * uncommitted, for the next leader. A brand-new group starts at the earliest offset, so commands
 * sent before the first leader ever ran (a pause issued at deployment) are not skipped.
 */
export function commandConsumer(deps: {
  topic: string;
  scheduler: Scheduler;
  logger: Logger;
}): ServiceConsumerOptions {
  const logger = deps.logger.child({ component: 'commands' });
  return {
    name: 'commands',
    required: false,
    fromBeginning: true,
    retry: { attempts: 100, initialDelayMs: 200, maxDelayMs: 2_000 },
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
  };
}
