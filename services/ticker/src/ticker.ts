import { randomBytes } from 'node:crypto';
import type { Contracts } from '@openpenpal/contracts';
import { toError } from '@openpenpal/errors';
import type { ConsumerRunner, Producer } from '@openpenpal/messaging';
import type { ReadinessCheck } from '@openpenpal/service-kit';
import type { Redis } from 'ioredis';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from './clock.ts';
import { createCommandConsumer, createRunningTracker } from './consumers.ts';
import { createDefinitionTable, type DefinitionTable } from './definition-table.ts';
import { tickerKeys } from './keys.ts';
import { createLeaderLease, type LeaderLease } from './lease.ts';
import { createRedisLeaseBackend } from './lease-redis.ts';
import { createTickerMetrics } from './metrics.ts';
import type { TickerObserver } from './observer.ts';
import { createKafkaPublisher } from './publisher.ts';
import { createRedisTickerStore } from './redis-store.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';
import { createTaskBook } from './task-book.ts';
import { createTriggerReader } from './trigger-reader.ts';
import { createTriggerSender } from './trigger-sender.ts';

interface TickerSettings {
  instanceId: string;
  definitionsTopic: string;
  commandsTopic: string;
  executionEventsTopic: string;
  triggerTopicPrefix: string;
  redisPrefix: string;
  groupPrefix: string;
  leaseTtlMs: number;
  leaseRenewMs: number;
  leaseSafetyMarginMs: number;
  forbidSlackMs: number;
  retryBackoffMs: number;
  maxSendBatch: number;
  reconcileLookbackMs: number;
  prepareAheadMs: number;
}

export interface TickerOptions {
  kafka: Kafka;
  admin: Admin;
  redis: Redis;
  contracts: Contracts;
  producer: Producer;
  logger: Logger;
  registry: Registry;
  settings: TickerSettings;
  clock?: Clock;
  /** Also told everything the metrics are told (the benchmark records every fire lag). */
  observer?: TickerObserver;
}

export interface Ticker {
  /** Loads the definitions table (resolves once it is complete), then competes for leadership. */
  start(): Promise<void>;
  role(): 'leader' | 'standby';
  isPaused(): boolean | undefined;
  readinessChecks(): ReadinessCheck[];
  scheduler: Scheduler;
  close(): Promise<void>;
}

function fanOut(observers: readonly TickerObserver[]): TickerObserver {
  return {
    acknowledged: (fires, at) => observers.forEach((o) => o.acknowledged(fires, at)),
    missed: (reason, count) => observers.forEach((o) => o.missed(reason, count)),
    skipped: (reason, count) => observers.forEach((o) => o.skipped(reason, count)),
    leader: (is) => observers.forEach((o) => o.leader(is)),
    paused: (is) => observers.forEach((o) => o.paused(is)),
    command: (command, outcome) => observers.forEach((o) => o.command(command, outcome)),
    batchFailed: () => observers.forEach((o) => o.batchFailed()),
  };
}

/** Resolves the check's answer, or false when it takes longer than `ms`. */
async function within(ms: number, check: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([check().then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Builds the ticker from its clients: definitions table, lease, scheduler, command and running consumers. */
export function createTicker(options: TickerOptions): Ticker {
  const { kafka, admin, redis, contracts, producer, settings } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const keys = tickerKeys(settings.redisPrefix);
  const store = createRedisTickerStore(redis, keys);
  let metricsInvalid: () => void = () => undefined;
  const book = createTaskBook({
    topicPrefix: settings.triggerTopicPrefix,
    logger,
    onInvalid: () => metricsInvalid(),
  });
  const metrics = createTickerMetrics({ registry: options.registry, taskCounts: () => book.counts() });
  metricsInvalid = () => metrics.invalidDefinition();
  const observer = fanOut(options.observer ? [metrics.observer, options.observer] : [metrics.observer]);
  const owner = `${settings.instanceId}/${randomBytes(4).toString('hex')}`;
  const lease: LeaderLease = createLeaderLease({
    backend: createRedisLeaseBackend(redis, keys),
    owner,
    ttlMs: settings.leaseTtlMs,
    renewEveryMs: settings.leaseRenewMs,
    safetyMarginMs: settings.leaseSafetyMarginMs,
    clock,
    logger,
    observer: metrics.lock,
  });
  const triggerSender = createTriggerSender({ kafka, contracts, logger });
  const publisher = createKafkaPublisher({
    producer,
    triggers: triggerSender,
    eventsTopic: settings.executionEventsTopic,
    maxBatch: settings.maxSendBatch,
    readTriggers: createTriggerReader({ kafka, admin, contracts, logger, groupPrefix: settings.groupPrefix }),
  });
  const scheduler = createScheduler({
    book,
    store,
    publisher,
    clock,
    logger,
    observer,
    currentTerm: () => lease.current(),
    worker: settings.instanceId,
    forbidSlackMs: settings.forbidSlackMs,
    retryBackoffMs: settings.retryBackoffMs,
    reconcileLookbackMs: settings.reconcileLookbackMs,
    prepareAheadMs: settings.prepareAheadMs,
  });
  const table: DefinitionTable = createDefinitionTable({
    kafka,
    admin,
    contracts,
    producer,
    logger,
    topic: settings.definitionsTopic,
    groupId: `${settings.groupPrefix}-table-${settings.instanceId}-${randomBytes(4).toString('hex')}`,
    onDefinition: (taskId, def) => scheduler.setDefinition(taskId, def),
  });
  const tracker = createRunningTracker({
    kafka,
    contracts,
    producer,
    logger,
    topic: settings.executionEventsTopic,
    groupId: `${settings.groupPrefix}-executions`,
    store,
    forbids: (taskId) => book.get(taskId)?.spec?.forbid ?? false,
  });
  let commands: ConsumerRunner | undefined;
  // Leadership changes start and stop the command consumer one after another, never overlapping.
  let transitions: Promise<void> = Promise.resolve();
  const onLeadership = (leading: boolean) => {
    transitions = transitions.then(async () => {
      try {
        if (leading && !commands) {
          commands = createCommandConsumer({
            kafka,
            contracts,
            producer,
            logger,
            topic: settings.commandsTopic,
            groupId: `${settings.groupPrefix}-commands`,
            scheduler,
          });
          await commands.start();
        } else if (!leading && commands) {
          const closing = commands;
          commands = undefined;
          await closing.close();
        }
      } catch (error) {
        logger.error({ err: toError(error) }, 'command consumer could not follow the leadership change');
      }
    });
  };
  lease.onChange((term) => {
    if (term) {
      scheduler.lead(term);
      onLeadership(true);
    } else {
      void scheduler.stepDown();
      onLeadership(false);
    }
  });

  let kafkaOk = { at: 0, ok: false };
  let closing: Promise<void> | undefined;
  return {
    start: async () => {
      await triggerSender.connect();
      await table.start();
      await table.loaded();
      await tracker.start();
      lease.start();
    },
    role: () => scheduler.role(),
    isPaused: () => scheduler.isPaused(),
    readinessChecks: () => [
      { name: 'definitions_loaded', check: () => table.isLoaded() && table.isRunning() },
      { name: 'redis', check: () => within(1_000, () => redis.ping()) },
      {
        name: 'kafka',
        check: async () => {
          // Cached briefly: probes come often and each would be a broker round trip.
          if (clock.now() - kafkaOk.at < 5_000) return kafkaOk.ok;
          const ok = (await within(2_000, () => admin.describeCluster())) && tracker.isRunning();
          kafkaOk = { at: clock.now(), ok };
          return ok;
        },
      },
    ],
    scheduler,
    close: () =>
      (closing ??= (async () => {
        await scheduler.close();
        await lease.close();
        await triggerSender.close();
        onLeadership(false);
        await transitions;
        await tracker.close();
        await table.close();
      })()),
  };
}
