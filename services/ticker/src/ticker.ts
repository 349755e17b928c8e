import { randomBytes } from 'node:crypto';
import { TASK_TYPES } from '@openpenpal/contracts';
import { SchedulerError, toError } from '@openpenpal/errors';
import { createSinceReader, createTransactionalSender, type ConsumerRunner } from '@openpenpal/messaging';
import type { ServiceContext } from '@openpenpal/service-kit';
import { retry, systemClock, type Clock } from '@openpenpal/timing';
import type { TickerConfig } from './config.ts';
import { createDefinitionDeadLetters } from './definitions/dead-letters.ts';
import { createDefinitionsTable } from './definitions/definitions-table.ts';
import { triggerTopicFor } from './definitions/task-spec.ts';
import { createTaskBook } from './definitions/task-book.ts';
import { createScheduler } from './firing/scheduler.ts';
import { commandConsumer } from './kafka/command-consumer.ts';
import { createPartitionCounts } from './kafka/partition-counts.ts';
import { createKafkaPublisher } from './kafka/publisher.ts';
import { runningTracker } from './kafka/running-tracker.ts';
import { createLeaderLease } from './lease/lease.ts';
import { createPostgresFencingTokens } from './lease/postgres-tokens.ts';
import { createRedisLeaseBackend } from './lease/redis-lease.ts';
import { createTickerMetrics } from './metrics/metrics.ts';
import type { TickerObserver } from './metrics/observer.ts';
import { tickerKeys } from './redis/keys.ts';
import { loadTickerScripts } from './redis/scripts.ts';
import { createRedisTickerStore } from './store/redis-store.ts';

export interface TickerOptions {
  clock?: Clock;
  /** Also told everything the metrics are told (the benchmark records every fire lag). */
  observer?: TickerObserver;
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
    tableLoaded: (ms) => observers.forEach((o) => o.tableLoaded?.(ms)),
    fireStages: (stages) => observers.forEach((o) => o.fireStages?.(stages)),
  };
}

/**
 * Builds the ticker on the service runtime and starts it: the definitions table (loaded in full
 * before anything else), then the lease and the running tracker. Whoever holds the lease runs the
 * scheduler, the command consumer and the dead-lettering of invalid definitions. Registered with the runtime so that shutdown stops firing
 * and releases the lease first, then the consumers, then the clients.
 */
export async function startTicker(
  ctx: ServiceContext<TickerConfig>,
  options: TickerOptions = {},
): Promise<void> {
  const { config, logger } = ctx;
  const clock = options.clock ?? systemClock;
  // The firing path sends one fenced script at a time and waits for it: auto-pipelining would only
  // add a turn of the event loop to each call.
  const redis = await ctx.redis('state', { autoPipelining: false });
  const keys = tickerKeys(config.REDIS_KEY_PREFIX);
  const scripts = loadTickerScripts(redis);
  const store = createRedisTickerStore(redis, scripts, keys);
  // The book, the metrics and the dead letters refer to each other; these are set once all exist.
  let onInvalid: () => void = () => undefined;
  let deadLettersPending: () => number = () => 0;
  const book = createTaskBook({
    topicPrefix: config.TICKER_TRIGGER_TOPIC_PREFIX,
    logger,
    onInvalid: () => onInvalid(),
  });
  const metrics = createTickerMetrics({
    registry: ctx.metrics.registry,
    taskCounts: () => book.counts(),
    deadLettersPending: () => deadLettersPending(),
  });
  const observer = fanOut(options.observer ? [metrics.observer, options.observer] : [metrics.observer]);
  const lease = createLeaderLease({
    backend: createRedisLeaseBackend(
      scripts,
      keys,
      config.TICKER_LEASE_TOKENS === 'postgres' ? createPostgresFencingTokens(ctx.postgres()) : undefined,
    ),
    // A random suffix: a restarted process never mistakes its predecessor's lease for its own;
    // it takes it over at once instead of waiting out its TTL (INSTANCE_ID is unique per replica).
    owner: `${ctx.instanceId}/${randomBytes(4).toString('hex')}`,
    takeOverFrom: ctx.instanceId,
    ttlMs: config.TICKER_LEASE_TTL_MS,
    renewEveryMs: config.TICKER_LEASE_RENEW_MS,
    safetyMarginMs: config.TICKER_LEASE_SAFETY_MARGIN_MS,
    clock,
    logger,
    observer: metrics.lock,
  });
  const partitionCounts = createPartitionCounts({
    admin: ctx.admin,
    topics: [
      ...TASK_TYPES.map((taskType) => triggerTopicFor(config.TICKER_TRIGGER_TOPIC_PREFIX, taskType)),
      config.TICKER_EXECUTION_EVENTS_TOPIC,
    ],
    refreshMs: 60_000,
    logger,
  });
  ctx.register({
    name: 'partition-counts',
    close: () => {
      partitionCounts.close();
      return Promise.resolve();
    },
  });
  await partitionCounts.refresh();
  // Created now, used only while leading: its id is taken over (init) when a term starts.
  const transactional =
    config.TICKER_TRIGGER_SEND === 'transactional'
      ? createTransactionalSender({
          kafka: ctx.kafka,
          logger,
          transactionalId: config.TICKER_TRANSACTIONAL_ID,
          // A leader killed with a transaction open blocks read-committed consumers of the trigger
          // partitions until the next leader's init aborts it — or, with no successor, this.
          transactionTimeoutMs: config.TICKER_LEASE_TTL_MS,
        })
      : undefined;
  if (transactional) ctx.register({ name: 'triggers-transactional', close: () => transactional.close() });
  const publisher = createKafkaPublisher({
    transactional,
    triggers: await ctx.createProducer('triggers-producer'),
    events: ctx.producer,
    eventsTopic: config.TICKER_EXECUTION_EVENTS_TOPIC,
    maxBatch: config.TICKER_MAX_SEND_BATCH,
    readBack: createSinceReader({
      kafka: ctx.kafka,
      admin: ctx.admin,
      contracts: ctx.contracts,
      logger,
      schema: 'TaskTrigger',
      groupPrefix: `${config.KAFKA_GROUP_ID}-reconcile`,
    }),
    partitions: (topic) => partitionCounts.of(topic),
  });
  const scheduler = createScheduler({
    book,
    store,
    publisher,
    clock,
    logger,
    observer,
    currentTerm: () => lease.current(),
    worker: ctx.instanceId,
    forbidSlackMs: config.TICKER_FORBID_SLACK_MS,
    retryBackoffMs: config.TICKER_RETRY_BACKOFF_MS,
    reconcileLookbackMs: config.TICKER_RECONCILE_LOOKBACK_MS,
    prepareAheadMs: config.TICKER_PREPARE_AHEAD_MS,
    runNowMaxAgeMs: config.TICKER_RUN_NOW_MAX_AGE_MS,
    // A leader loop that broke on a bug would hold the lease and fire nothing: exit instead, so a
    // standby takes over.
    onFatal: (error) => ctx.fail(error),
  });
  const deadLetters = createDefinitionDeadLetters({
    book,
    store,
    producer: ctx.producer,
    groupId: `${config.KAFKA_GROUP_ID}-table`,
    clock,
    logger,
    retryBackoffMs: config.TICKER_RETRY_BACKOFF_MS,
    onDeadLettered: () => metrics.definitionDeadLettered(),
  });
  onInvalid = () => {
    metrics.invalidDefinition();
    deadLetters.wake();
  };
  deadLettersPending = () => deadLetters.pending();
  const table = createDefinitionsTable({
    kafka: ctx.kafka,
    admin: ctx.admin,
    contracts: ctx.contracts,
    logger,
    topic: config.TICKER_DEFINITIONS_TOPIC,
    groupPrefix: `${config.KAFKA_GROUP_ID}-table`,
    member: ctx.instanceId,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    onDefinition: (taskId, def, origin) => scheduler.setDefinition(taskId, def, origin),
    onUndecodable: (record) => {
      metrics.undecodableDefinition();
      deadLetters.undecodable(record);
    },
    onFatal: (error) =>
      ctx.fail(
        new SchedulerError('INTERNAL', `the definitions table stopped for good: ${error.message}`, {
          cause: error,
        }),
      ),
  });
  // Before it starts: a shutdown while the table loads still deletes the table's group.
  ctx.register({ name: 'definitions-table', close: () => table.close() });
  ctx.addReadinessCheck({ name: 'consumer:definitions', check: () => table.isRunning() });
  const tracker = ctx.consumer(
    runningTracker({
      topic: config.TICKER_EXECUTION_EVENTS_TOPIC,
      store,
      forbids: (taskId) => book.get(taskId)?.spec?.forbid ?? false,
    }),
  );

  // The command consumer runs while this replica leads. Leadership changes start and stop it one
  // after another, never overlapping; a start still retrying is given up when the term ends.
  let commands: ConsumerRunner | undefined;
  let term: AbortController | undefined;
  let transitions: Promise<void> = Promise.resolve();
  const startCommands = async (signal: AbortSignal) => {
    const runner = ctx.consumer(commandConsumer({ topic: config.TICKER_COMMANDS_TOPIC, scheduler, logger }));
    commands = runner;
    await retry(() => runner.start(), {
      initialDelayMs: 500,
      maxDelayMs: 5_000,
      signal,
      onRetry: (error) =>
        logger.warn({ err: toError(error) }, 'the command consumer could not start; retrying'),
    }).catch((error: unknown) => {
      if (!signal.aborted) logger.error({ err: toError(error) }, 'the command consumer did not start');
    });
  };
  const followLeadership = (leading: boolean) => {
    term?.abort();
    term = leading ? new AbortController() : undefined;
    const signal = term?.signal;
    transitions = transitions.then(async () => {
      if (signal && !signal.aborted && !commands) await startCommands(signal);
      else if (!signal && commands) {
        const closing = commands;
        commands = undefined;
        await closing.close();
      }
    });
  };
  lease.onChange((held) => {
    if (held) {
      scheduler.lead(held);
      deadLetters.lead(held);
      followLeadership(true);
    } else {
      void scheduler.stepDown();
      void deadLetters.stepDown();
      followLeadership(false);
    }
  });
  ctx.register({
    name: 'leadership',
    close: async () => {
      await scheduler.close();
      await deadLetters.close();
      await lease.close();
      followLeadership(false);
      await transitions;
    },
  });
  ctx.addReadinessCheck({ name: 'definitions_loaded', check: () => table.isLoaded() });
  // /readyz says which role this replica plays; both roles are ready.
  ctx.setStatus(() => ({ role: scheduler.role(), paused: scheduler.isPaused() ?? null }));

  const loading = performance.now();
  await table.start();
  await table.loaded();
  observer.tableLoaded?.(performance.now() - loading);
  // The lease first: joining the executions group after a crash waits for the dead member's
  // session to time out, and firing does not need it (the running marks are in Redis; the
  // tracker only frees them, from its committed offset on).
  lease.start();
  await tracker.start();
}
