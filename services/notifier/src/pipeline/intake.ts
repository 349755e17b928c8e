import type { NotificationChannel, NotificationEvent, NotificationRequested } from '@openpenpal/contracts';
import type { Contracts } from '@openpenpal/contracts';
import { enqueueOutbox, inTransaction } from '@openpenpal/domain';
import { SchedulerError, toError } from '@openpenpal/errors';
import {
  deadLetterRecord,
  type BatchHandler,
  type ConsumedMessage,
  type EncodedBatch,
  type Producer,
  type TopicBinding,
} from '@openpenpal/messaging';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { NotifierMetrics } from '../metrics.ts';
import { chooseChannels, type ChannelAvailability } from '../preferences/channels.ts';
import type { Directory, Recipient } from '../preferences/directory.ts';
import {
  deliveryKey,
  type DeliveryOutcome,
  type DeliveryRecord,
  type DeliveryStore,
} from '../store/deliveries.ts';
import type { Inbox, InboxRow } from '../store/inbox.ts';
import { render, resolveLocale, type Rendered } from '../templates/render.ts';
import type { Locale } from '../templates/catalog.ts';
import { deliverOn, type ChannelResult, type DeliverDependencies } from './deliver.ts';
import { deliveredEvent, failedEvent } from './events.ts';
import { applyHolds } from './holds.ts';
import { mapLimit } from './limit.ts';
import { releaseOf, validateRequest, type Release, type ValidRequest } from './release.ts';

export interface IntakeDependencies extends DeliverDependencies {
  contracts: Contracts;
  producer: Producer;
  events: TopicBinding<'NotificationEvent'>;
  /** Where the events go: the domain schema's outbox, written in the transaction of the outcomes. */
  outbox: { pool: pg.Pool; schema: string };
  directory: Directory;
  deliveries: DeliveryStore;
  inbox: Inbox;
  metrics: NotifierMetrics;
  logger: Logger;
  available: ChannelAvailability;
  defaultLocale: Locale;
  deliveryConcurrency: number;
  groupId: string;
}

type Message = ConsumedMessage<NotificationRequested>;

interface Ready {
  message: Message;
  request: ValidRequest;
  recipient: Recipient;
  rendered: Rendered;
  channels: NotificationChannel[];
  /** Channels not yet delivered or given up on. */
  open: NotificationChannel[];
}

/**
 * The dead letter of a request whose channel failed for good, naming the channel (the message itself
 * is done). It goes out through the outbox with the failure it reports, so a crash between recording
 * the failure and sending the copy cannot lose the copy (a redelivered request finds the channel
 * failed and does nothing).
 */
function channelDeadLetter(
  deps: IntakeDependencies,
  message: Message,
  request: ValidRequest,
  result: ChannelResult,
  now: number,
): EncodedBatch {
  return deadLetterRecord(
    {
      topic: message.topic,
      partition: message.partition,
      message: {
        key: Buffer.from(request.notification_id),
        value: deps.contracts
          .codec('NotificationRequested')
          .encode({ ...request, channels: [result.channel] }),
        headers: { ...message.headers, 'notifier-channel': result.channel },
        offset: message.offset,
        timestamp: String(message.timestamp),
        attributes: 0,
      },
      groupId: deps.groupId,
      error: result.finalError,
      attempts: result.outcome?.attempts ?? 1,
    },
    now,
  );
}

/**
 * The batch handler of the requests topic. Per slice: validate, load recipients and delivery
 * records (one query each), drop what was delivered, hold what must wait (not_before, quiet hours,
 * rate limits, through the delay queue), write the inbox rows and delivery records, deliver in-app
 * at once and the external channels concurrently, then record every outcome with its event in one
 * transaction (the events go out through the outbox).
 * A request that can never be delivered (unknown type or user, malformed data) is reported
 * failed and dead-lettered; the slice goes on.
 */
export function createIntake(deps: IntakeDependencies): BatchHandler<NotificationRequested> {
  return async (messages) => {
    const now = deps.clock.now();
    const events: NotificationEvent[] = [];
    const rejected: { message: Message; error: unknown }[] = [];
    const reject = (message: Message, error: SchedulerError) => {
      const request = message.value;
      events.push(
        failedEvent(
          request,
          { channel: 'in_app', attempt: 1, code: error.code, message: error.message, willRetry: false },
          now,
        ),
      );
      rejected.push({ message, error });
      deps.metrics.count(request.type, 'in_app', 'rejected');
    };

    const valid: { message: Message; request: ValidRequest; release: Release | undefined }[] = [];
    for (const message of messages) {
      try {
        valid.push({ message, request: validateRequest(message.value), release: releaseOf(message.headers) });
      } catch (error) {
        reject(message, error as SchedulerError);
      }
    }
    const recipients = await deps.directory.load([...new Set(valid.map((v) => v.request.user_id))]);
    const records = await deps.deliveries.load([...new Set(valid.map((v) => v.request.notification_id))]);
    const recordOf = (id: string, channel: string): DeliveryRecord | undefined =>
      records.get(deliveryKey(id, channel));

    const candidates: { item: Ready; release: Release | undefined }[] = [];
    const seen = new Set<string>();
    for (const { message, request, release } of valid) {
      const recipient = recipients.get(request.user_id);
      if (!recipient || !recipient.isActive) {
        reject(
          message,
          new SchedulerError(
            'NOT_FOUND',
            `user ${request.user_id} ${recipient ? 'is not active' : 'does not exist'}`,
            {
              details: { field: 'user_id' },
            },
          ),
        );
        continue;
      }
      let rendered: Rendered;
      try {
        rendered = render(
          request.type,
          request.data,
          resolveLocale(request.locale ?? recipient.language, deps.defaultLocale),
        );
      } catch (error) {
        reject(message, error as SchedulerError);
        continue;
      }
      const channels = chooseChannels(request, recipient, deps.available);
      const open = channels.filter((channel) => {
        const status = recordOf(request.notification_id, channel)?.status;
        return status !== 'delivered' && status !== 'failed';
      });
      // The same request twice in one slice: the first copy does the work.
      const sliceKey = `${request.notification_id}/${open.join(',')}`;
      if (open.length === 0 || seen.has(sliceKey)) {
        deps.metrics.count(request.type, channels.join(','), 'duplicate');
        continue;
      }
      seen.add(sliceKey);
      candidates.push({ item: { message, request, recipient, rendered, channels, open }, release });
    }
    // The slice's holds are decided together: each admission is one Redis call, and started in
    // slice order on the one connection they are pipelined and run in that order (one round trip
    // for the slice instead of one per request, which made a slice of hundreds take hundreds of
    // round trips and held every later request of its partition behind it).
    const holds = await Promise.all(
      candidates.map(({ item, release }) => applyHolds(deps, item.request, item.recipient, release, now)),
    );
    const ready: Ready[] = [];
    candidates.forEach(({ item }, index) => {
      const hold = holds[index];
      if (hold) {
        if (hold.event) events.push(hold.event);
        deps.metrics.count(item.request.type, item.open.join(','), 'deferred');
        return;
      }
      ready.push(item);
    });

    const rows: InboxRow[] = ready.map(({ request, rendered, channels }) => ({
      id: request.notification_id,
      userId: request.user_id,
      type: request.type,
      channel: channels.includes('in_app') ? 'in_app' : (channels[0] ?? 'in_app'),
      priority: request.priority,
      title: rendered.title,
      content: rendered.body,
      data: request.data,
      scheduledAt: request.not_before ?? request.requested_at,
    }));
    await deps.inbox.insert(rows, now);
    await deps.deliveries.open(
      ready.flatMap(({ request, open }) =>
        open.map((channel) => ({ notificationId: request.notification_id, channel, at: now })),
      ),
    );

    // In-app is delivered once its row is committed; the external channels are tried now.
    const outcomes: DeliveryOutcome[] = [];
    const sent = new Set<string>();
    const external: { item: Ready; channel: NotificationChannel }[] = [];
    for (const item of ready) {
      for (const channel of item.open) {
        if (channel !== 'in_app') {
          external.push({ item, channel });
          continue;
        }
        const attempts = recordOf(item.request.notification_id, channel)?.attempts ?? 0;
        outcomes.push({
          notificationId: item.request.notification_id,
          channel,
          status: 'delivered',
          attempts,
          at: now,
        });
        events.push(deliveredEvent(item.request, 'in_app', now, item.request.notification_id));
        sent.add(item.request.notification_id);
        deps.metrics.count(item.request.type, 'in_app', 'delivered');
        deps.metrics.latency('in_app', Math.max(0, now - item.request.requested_at) / 1000);
      }
    }
    const results = await mapLimit(external, deps.deliveryConcurrency, async ({ item, channel }) => {
      const { request, recipient, rendered } = item;
      const result = await deliverOn(
        deps,
        request,
        {
          notificationId: request.notification_id,
          type: request.type,
          priority: request.priority,
          recipient,
          title: rendered.title,
          body: rendered.body,
          locale: rendered.locale,
          data: request.data,
          requestedAt: request.requested_at,
        },
        channel,
        recordOf(request.notification_id, channel)?.attempts ?? 0,
      );
      return { item, result };
    });
    const finalFailures: { item: Ready; result: ChannelResult }[] = [];
    for (const { item, result } of results) {
      if (result.outcome) outcomes.push(result.outcome);
      events.push(result.event);
      deps.metrics.count(item.request.type, result.channel, result.kind);
      if (result.kind === 'delivered') {
        sent.add(item.request.notification_id);
        deps.metrics.latency(
          result.channel,
          Math.max(0, deps.clock.now() - item.request.requested_at) / 1000,
        );
      } else if (result.kind === 'failed') {
        finalFailures.push({ item, result });
        deps.logger.warn(
          {
            notificationId: item.request.notification_id,
            channel: result.channel,
            err: toError(result.finalError),
          },
          'notification channel failed for good',
        );
      }
    }

    // The outcomes and their events commit together (the events through the outbox, relayed to
    // Kafka after the commit): a redelivered request never sends again what went out, and an
    // outcome is never recorded without its event.
    const failedIds = ready.filter((item) =>
      item.channels.every((channel) => {
        const settled = outcomes.find(
          (o) => o.notificationId === item.request.notification_id && o.channel === channel,
        );
        return (settled?.status ?? recordOf(item.request.notification_id, channel)?.status) === 'failed';
      }),
    );
    const failures = failedIds.map((item) => ({
      id: item.request.notification_id,
      error: finalFailures.find((f) => f.item === item)?.result.outcome?.error ?? 'every channel failed',
      retries: Math.max(
        0,
        ...outcomes
          .filter((o) => o.notificationId === item.request.notification_id)
          .map((o) => o.attempts - 1),
      ),
    }));
    if (outcomes.length > 0 || sent.size > 0 || failures.length > 0 || events.length > 0) {
      await inTransaction(deps.outbox.pool, 'the notification outcomes and events', async (client) => {
        await deps.deliveries.settle(outcomes, client);
        await deps.inbox.markSent([...sent], now, client);
        await deps.inbox.markFailed(failures, now, client);
        await enqueueOutbox(client, deps.outbox.schema, [
          deps.producer.encode(
            deps.events,
            events.map((event) => ({ key: event.notification_id, value: event, messageId: event.event_id })),
          ),
          ...finalFailures.map(({ item, result }) =>
            channelDeadLetter(deps, item.message, item.request, result, now),
          ),
        ]);
      });
    }
    return { rejected };
  };
}
