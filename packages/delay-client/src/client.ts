import {
  createContracts,
  topicSpec,
  unionBranch,
  type Contracts,
  type SchemaName,
} from '@openpenpal/contracts';
import { SchedulerError } from '@openpenpal/errors';
import type { OutgoingMessage, Producer, TopicBinding } from '@openpenpal/messaging';
import type { DelayRequest } from '@openpenpal/contracts';
import {
  DEFAULT_MAX_HORIZON_MS,
  cancelMessage,
  scheduleMessage,
  type CancelInput,
  type RequestContext,
  type ScheduleInput,
} from './requests.ts';

export interface DelayClientOptions {
  /** The messaging layer's producer (idempotent, acks=all); the client only calls `send`. */
  producer: Pick<Producer, 'send'>;
  /** The requests topic; the catalogue's `scheduler.delay-requests` by default. */
  topic?: string;
  /** The requesting service's name, e.g. `handler-future-letter-unlock`; kept in every request. */
  source: string;
  /** Time source for `requested_at` and the due-time checks; the system clock by default. */
  clock?: { now(): number };
  /** Codecs for the target values; every published schema version by default. */
  contracts?: Contracts;
  /** Latest due time accepted, as a distance from now; the delay queue's default (3,660 days). */
  maxHorizonMs?: number;
}

/** What a request was sent as: `requestId` comes back as `request_id` in its DelayedMessageEvent. */
export interface DelayReceipt {
  requestId: string;
  messageId: string;
}

export interface DelayClient {
  /**
   * Asks the delay queue to publish `target.value` to `target.binding.topic` at `dueAt`. Resolves
   * once Kafka has the request (acks=all); what the delay queue did with it arrives later on
   * `scheduler.delay-events`. Invalid input throws VALIDATION_FAILED before anything is sent.
   */
  schedule<S extends SchemaName>(input: ScheduleInput<S>): Promise<DelayReceipt>;
  /** Asks the delay queue to drop a message that has not fired. */
  cancel(input: CancelInput): Promise<DelayReceipt>;
}

function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new SchedulerError('CONFIG_INVALID', `delay client: ${name} must be a non-empty string`, {
      details: { option: name },
    });
  }
  return value;
}

/** A typed client of the delay queue over the messaging layer's producer. */
export function createDelayClient(options: DelayClientOptions): DelayClient {
  const source = nonEmpty('source', options.source);
  const binding: TopicBinding<'DelayRequest'> = {
    topic: nonEmpty('topic', options.topic ?? topicSpec('scheduler.delay-requests').name),
    schema: 'DelayRequest',
  };
  const maxHorizonMs = options.maxHorizonMs ?? DEFAULT_MAX_HORIZON_MS;
  if (!Number.isSafeInteger(maxHorizonMs) || maxHorizonMs <= 0) {
    throw new SchedulerError('CONFIG_INVALID', 'delay client: maxHorizonMs must be a positive integer', {
      details: { option: 'maxHorizonMs', maxHorizonMs },
    });
  }
  const contracts = options.contracts ?? createContracts();
  const clock = options.clock ?? { now: () => Date.now() };
  const { producer } = options;

  const context = (): RequestContext => ({ contracts, source, now: clock.now(), maxHorizonMs });
  const send = async (message: OutgoingMessage<DelayRequest>): Promise<DelayReceipt> => {
    await producer.send(binding, [message]);
    const value = message.value as DelayRequest;
    return { requestId: value.request_id, messageId: unionBranch(value.event).value.message_id };
  };

  return {
    // async, so invalid input rejects the promise instead of throwing at the call.
    schedule: async (input) => send(scheduleMessage(input, context())),
    cancel: async (input) => send(cancelMessage(input, context())),
  };
}
