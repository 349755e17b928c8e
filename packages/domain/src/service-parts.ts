import type { SchemaName, SchemaTypes } from '@openpenpal/contracts';
import {
  subscription,
  type ConsumedMessage,
  type MessageHandler,
  type Producer,
  type TopicBinding,
} from '@openpenpal/messaging';
import type { RuntimeConfig, ServiceContext } from '@openpenpal/service-kit';
import type { ErrorCode } from '@openpenpal/errors';
import type { Clock } from '@openpenpal/timing';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { domainConfigShape } from './config.ts';
import { rejectionId } from './ids.ts';
import { assertDomainMigrated, migrateDomain } from './migrate.ts';
import { createOutboxRelay, type OutboxRelay } from './outbox/relay.ts';

type DomainConfig = RuntimeConfig & {
  DATABASE_URL: string;
} & { [K in keyof typeof domainConfigShape]: z.output<(typeof domainConfigShape)[K]> };

export interface DomainParts {
  pool: pg.Pool;
  schema: string;
  relay: OutboxRelay;
}

/**
 * The domain database of a service: migrations applied (DOMAIN_MIGRATE_ON_START) or checked (a
 * pending one stops the start with the command that applies it), and the outbox relay running
 * (registered, so it stops before the producer and the pool close).
 */
export async function openDomain(ctx: ServiceContext<DomainConfig>): Promise<DomainParts> {
  const { config } = ctx;
  const pool = ctx.postgres();
  const schema = config.DOMAIN_DB_SCHEMA;
  if (config.DOMAIN_MIGRATE_ON_START) {
    const applied = await migrateDomain({ databaseUrl: config.DATABASE_URL, schema, logger: ctx.logger });
    if (applied.length > 0) ctx.logger.info({ schema, applied }, 'domain migrations applied');
  } else {
    await assertDomainMigrated(pool, schema);
  }
  const relay = createOutboxRelay({
    pool,
    schema,
    // Its own connections: the relay's batches must not queue behind the handler's one-at-a-time
    // execution events on the shared producer (one request in flight per connection).
    producer: await ctx.createProducer('outbox-relay'),
    logger: ctx.logger,
    registry: ctx.metrics.registry,
    batchSize: config.OUTBOX_RELAY_BATCH,
    pollMs: config.OUTBOX_RELAY_POLL_MS,
  });
  relay.start();
  ctx.register({ name: 'outbox-relay', close: () => relay.close() });
  return { pool, schema, relay };
}

/** Why an inbound event is refused for good (it is reported, never retried). */
export interface Refusal {
  code: Extract<ErrorCode, 'NOT_FOUND' | 'VALIDATION_FAILED'>;
  reason: string;
  eventType: string;
  subjectId: string | null;
  originalEventId: string | null;
}

/**
 * Reports a refused inbound event as InboundEventRejected (keyed by its subject) and logs it; the
 * consumer then commits it, so it is not retried forever and the partition goes on.
 */
export async function reportRefusal(
  deps: {
    producer: Producer;
    binding: TopicBinding<'InboundEventRejected'>;
    service: string;
    clock: Pick<Clock, 'now'>;
    logger: Logger;
  },
  message: Pick<ConsumedMessage<unknown>, 'topic' | 'partition' | 'offset'>,
  refusal: Refusal,
): Promise<void> {
  const eventId = rejectionId(message.topic, message.partition, message.offset);
  deps.logger.warn(
    {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      eventType: refusal.eventType,
      subjectId: refusal.subjectId,
      code: refusal.code,
    },
    `inbound event refused: ${refusal.reason}`,
  );
  await deps.producer.send(deps.binding, [
    {
      key: refusal.subjectId,
      messageId: eventId,
      value: {
        eventId,
        rejectedAt: deps.clock.now(),
        service: deps.service,
        sourceTopic: message.topic,
        sourcePartition: message.partition,
        sourceOffset: Number(message.offset),
        originalEventId: refusal.originalEventId,
        eventType: refusal.eventType,
        subjectId: refusal.subjectId,
        errorCode: refusal.code,
        reason: refusal.reason,
      },
    },
  ]);
}

/** What an inbound event handler gets to refuse an event for good and to log. */
export interface InboundTools {
  refuse(
    message: Pick<ConsumedMessage<unknown>, 'topic' | 'partition' | 'offset'>,
    refusal: Refusal,
  ): Promise<void>;
  logger: Logger;
}

/**
 * Consumes one inbound topic of another OpenPenPal service in the group `<KAFKA_GROUP_ID>-events`:
 * refusals go to `rejectionsTopic` as InboundEventRejected and are committed; DEPENDENCY_UNAVAILABLE
 * holds the partition (retried, capped at 5 s) until the database or Kafka is back. The consumer is
 * registered with the service, so it stops on shutdown.
 */
export async function startInboundConsumer<S extends SchemaName>(
  ctx: ServiceContext<RuntimeConfig>,
  options: {
    /** The consumer's name, also the `component` of its log lines. */
    name: string;
    events: TopicBinding<S>;
    rejectionsTopic: string;
    clock: Pick<Clock, 'now'>;
    /** Partitions handled at once (default 1). */
    concurrency?: number;
    handler: (tools: InboundTools) => MessageHandler<SchemaTypes[S]>;
  },
): Promise<void> {
  const rejections: TopicBinding<'InboundEventRejected'> = {
    topic: options.rejectionsTopic,
    schema: 'InboundEventRejected',
  };
  const tools: InboundTools = {
    refuse: (message, refusal) =>
      reportRefusal(
        {
          producer: ctx.producer,
          binding: rejections,
          service: ctx.service,
          clock: options.clock,
          logger: ctx.logger,
        },
        message,
        refusal,
      ),
    logger: ctx.logger.child({ component: options.name }),
  };
  const consumer = ctx.consumer({
    name: options.name,
    groupId: `${ctx.config.KAFKA_GROUP_ID}-events`,
    ...(options.concurrency === undefined ? {} : { partitionsConsumedConcurrently: options.concurrency }),
    retry: { blockingErrorCodes: ['DEPENDENCY_UNAVAILABLE'], maxDelayMs: 5_000 },
    subscriptions: [subscription(options.events, options.handler(tools))],
  });
  await consumer.start();
}
