import {
  START,
  excludeSystemEvents,
  streamNameFilter,
  type AllStreamSubscription,
  type EventStoreDBClient,
} from '@eventstore/db-client';
import { isRetryable } from '@openpenpal/errors';
import type { EventStoreLogger, SubscribeOptions, Subscription } from '../port.ts';
import { backoffMs, runSubscription, sleep } from '../subscription-control.ts';
import { categoryOf } from '../validation.ts';
import { classifyEsdbError, isUserEvent, toEsdbPosition, toRecordedEvent } from './mapping.ts';

/** Carries a handler's throw out of the read loop, so it is not mistaken for a dropped connection. */
class HandlerFailure extends Error {
  readonly failure: unknown;
  constructor(failure: unknown) {
    super('the subscription handler failed');
    this.failure = failure;
  }
}

function open(client: EventStoreDBClient, options: SubscribeOptions, after: bigint | undefined) {
  return client.subscribeToAll({
    fromPosition: after === undefined ? START : toEsdbPosition(after),
    // The server filters by stream-name prefix; the exact category test runs here (`task` is a prefix of
    // `tasks-1` too).
    filter:
      options.category === undefined
        ? excludeSystemEvents()
        : streamNameFilter({ prefixes: [options.category] }),
  });
}

/**
 * Watches the server's "caught up" signal (KurrentDB/EventStoreDB 23.10+). When it arrives, the events
 * read before it sit in the readable buffer or in the handler; the subscription counts as caught up once
 * those are handled.
 */
function trackCatchUp(subscription: AllStreamSubscription, caughtUp: () => void) {
  let handling = false;
  let remaining: number | undefined;
  subscription.once('caughtUp', () => {
    remaining = subscription.readableLength + (handling ? 1 : 0);
    if (remaining === 0) caughtUp();
  });
  return {
    started: () => void (handling = true),
    finished: () => {
      handling = false;
      if (remaining !== undefined && remaining > 0 && --remaining === 0) caughtUp();
    },
  };
}

/**
 * A catch-up subscription on `$all`: from the checkpoint (exclusive) through history into live events.
 * A dropped connection resubscribes from the last handled position with backoff; a handler failure stops
 * the subscription.
 */
export function subscribeEsdb(
  deps: { client: EventStoreDBClient; logger: EventStoreLogger },
  options: SubscribeOptions,
): Subscription {
  const { client, logger } = deps;
  return runSubscription(async ({ signal, stopped, caughtUp }) => {
    let after = options.after;
    for (let attempt = 0; !stopped();) {
      const subscription = open(client, options, after);
      const catchUp = trackCatchUp(subscription, caughtUp);
      // unsubscribe() cancels the call but does not end the readable; destroy() ends the loop below.
      const stop = (): void => void subscription.unsubscribe().finally(() => subscription.destroy());
      signal.addEventListener('abort', stop, { once: true });
      try {
        for await (const resolved of subscription) {
          catchUp.started();
          const event = resolved.event;
          // Guards against a server treating the start position as inclusive, and against replays after
          // a resubscribe.
          if (event !== undefined && (after === undefined || event.position.commit > after)) {
            const wanted =
              isUserEvent(event) &&
              (options.category === undefined || categoryOf(event.streamId) === options.category);
            if (wanted) {
              const recorded = toRecordedEvent(resolved);
              if (stopped()) return;
              try {
                await options.handler(recorded);
              } catch (error) {
                throw new HandlerFailure(error);
              }
            }
            after = event.position.commit;
          }
          catchUp.finished();
          attempt = 0;
        }
        if (stopped()) return;
        logger.warn({ after: after?.toString() }, 'EventStoreDB ended the subscription, resubscribing');
      } catch (error) {
        if (error instanceof HandlerFailure) throw error.failure;
        if (stopped()) return;
        const classified = classifyEsdbError(error, 'subscribe');
        if (!isRetryable(classified)) throw classified;
        logger.warn(
          { err: error, after: after?.toString() },
          'EventStoreDB subscription dropped, resubscribing',
        );
      } finally {
        signal.removeEventListener('abort', stop);
        await subscription.unsubscribe().catch(() => undefined);
        subscription.destroy();
      }
      await sleep(backoffMs(attempt++), signal);
    }
  });
}
