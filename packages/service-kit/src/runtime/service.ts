import { createContracts, type Contracts, type TopicSpec } from '@openpenpal/contracts';
import { SchedulerError, toError } from '@openpenpal/errors';
import {
  createConsumerRunner,
  createKafkaClient,
  createProducer,
  provisionTopics,
  waitForTopics,
  type ConsumerRunner,
  type ConsumerRunnerOptions,
  type Producer,
} from '@openpenpal/messaging';
import { closeRedis, connectRedis, redisReady } from '@openpenpal/redis';
import type { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import type { Admin, Kafka } from 'kafkajs';
import pg from 'pg';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { RuntimeConfig } from '../config.ts';
import { closeAll, type Closeable } from '../lifecycle.ts';
import { createLogger, defaultInstanceId } from '../logger.ts';
import { createServiceMetrics, type ServiceMetrics } from '../metrics.ts';
import { buildOpsApp, type OpsRoutesOptions } from '../ops/app.ts';
import { kafkaCheck, type ReadinessCheck } from '../ops/readiness.ts';
import { listen, type OpsServer } from '../ops/server.ts';
import { kafkaSecurity } from './kafka-settings.ts';

/** A catalogued topic as one deployment names it (tests and second deployments rename topics). */
export interface TopicUse {
  spec: TopicSpec;
  name: string;
}

/** What a service is: its name, its config, the topics it uses, and how it starts. */
export interface ServiceDefinition<C extends RuntimeConfig> {
  name: string;
  configSchema: z.ZodType<C>;
  /** Topics this service provisions at start (with their dead-letter topics). */
  topics(config: C): readonly TopicUse[];
  /** Builds and starts the service's components; everything it registers is closed in reverse. */
  start(ctx: ServiceContext<C>): Promise<void>;
  /**
   * A service with HTTP routes of its own (the admin API) builds the app the runtime listens with,
   * on `HTTP_HOST:HTTP_PORT`, so that its routes and the ops routes share one port. The app must
   * register `opsRoutes` with `ops`, and must not listen. Called after `start` (the routes use
   * what it built), so such a service answers nothing, `/readyz` included, until it has started;
   * the server is closed first at shutdown (no new requests while the rest closes). Without it,
   * the runtime serves the ops routes alone from before `start`.
   */
  http?(ctx: ServiceContext<C>, ops: OpsRoutesOptions): FastifyInstance | Promise<FastifyInstance>;
}

/** Identity function that types a service definition. */
export function defineService<C extends RuntimeConfig>(
  definition: ServiceDefinition<C>,
): ServiceDefinition<C> {
  return definition;
}

/** The runner options a service chooses; clients, metrics, shutdown and failure are the runtime's. */
export type ServiceConsumerOptions = Omit<
  ConsumerRunnerOptions,
  'kafka' | 'contracts' | 'producer' | 'logger' | 'onFatal' | 'groupId'
> & {
  /** Names the consumer in logs, readiness and shutdown. */
  name: string;
  /** Default `<KAFKA_GROUP_ID>-<name>`; a service with one group passes KAFKA_GROUP_ID itself. */
  groupId?: string;
  /** When true (default), /readyz fails unless this consumer runs. False for consumers started on demand. */
  required?: boolean;
};

export interface ServiceContext<C extends RuntimeConfig> {
  service: string;
  instanceId: string;
  config: C;
  logger: Logger;
  contracts: Contracts;
  kafka: Kafka;
  /** Connected; closed at shutdown. */
  admin: Admin;
  /** The service's producer (idempotent, acks=all); also used for dead letters. */
  producer: Producer;
  metrics: ServiceMetrics;
  /** Another producer on its own connections (a hot path that must not queue behind others). */
  createProducer(name: string): Promise<Producer>;
  /** A consumer runner wired to the service's clients, metrics, readiness and shutdown; call start(). */
  consumer(options: ServiceConsumerOptions): ConsumerRunner;
  /**
   * A Redis connection from `REDIS_*` (fail-fast), checked by /readyz and closed at shutdown.
   * Auto-pipelining (on by default) suits throughput paths; a latency path that sends one command
   * at a time turns it off.
   */
  redis(role: string, options?: { autoPipelining?: boolean }): Promise<Redis>;
  /** The PostgreSQL pool from `DATABASE_*`, checked by /readyz and closed at shutdown. */
  postgres(): pg.Pool;
  /** Closed in reverse registration order at shutdown. */
  register(component: Closeable): void;
  addReadinessCheck(check: ReadinessCheck): void;
  /** Extra fields of the /readyz answer. */
  setStatus(status: () => Record<string, unknown>): void;
  /** A component stopped for good: /readyz fails and the process exits non-zero (a supervisor restarts it). */
  fail(error: unknown): void;
}

export interface RunningService<C extends RuntimeConfig> {
  ctx: ServiceContext<C>;
  ops: OpsServer;
  /** Closes every component in reverse start order within the shutdown deadline; true when all closed cleanly. */
  close(): Promise<boolean>;
}

export interface StartOptions<C extends RuntimeConfig> {
  config: C;
  logger?: Logger;
  /** Called once when a component fails for good (default: nothing; `runMain` exits the process). */
  onFatal?: (error: Error) => void;
}

/**
 * Starts a service: Kafka admin and producer, topic provisioning, the ops server (so /readyz
 * answers while the service starts), then the service's own start. A failed start closes what
 * started and rethrows with the service's name in the message.
 */
export async function startService<C extends RuntimeConfig>(
  definition: ServiceDefinition<C>,
  options: StartOptions<C>,
): Promise<RunningService<C>> {
  const { config } = options;
  const instanceId = config.INSTANCE_ID ?? defaultInstanceId();
  const logger =
    options.logger ?? createLogger({ service: definition.name, level: config.LOG_LEVEL, instanceId });
  const components: Closeable[] = [];
  const register = (component: Closeable) => {
    components.push(component);
  };
  const checks: ReadinessCheck[] = [];
  let status: (() => Record<string, unknown>) | undefined;
  let started = false;
  let fatal: Error | undefined;
  let closing: Promise<boolean> | undefined;
  const close = () => (closing ??= closeAll(components, config.SHUTDOWN_DEADLINE_MS, logger));

  try {
    const contracts = createContracts();
    const metrics = createServiceMetrics(definition.name);
    const kafka = createKafkaClient({
      brokers: config.KAFKA_BROKERS,
      clientId: config.KAFKA_CLIENT_ID,
      logger,
      config: kafkaSecurity(config),
    });
    const admin = kafka.admin();
    await admin.connect();
    register({ name: 'kafka-admin', close: () => admin.disconnect() });
    // Each catalogued topic has one owner, which creates it; a topic renamed for this deployment
    // (tests, a second deployment on shared brokers) is created by whichever service uses it.
    const topics = definition.topics(config);
    const owned = topics.filter(({ spec, name }) => spec.owner === definition.name || name !== spec.name);
    const others = topics.filter((topic) => !owned.includes(topic));
    if (config.KAFKA_PROVISION_TOPICS && owned.length > 0) {
      await provisionTopics({
        kafka,
        logger,
        replicationFactor: config.KAFKA_REPLICATION_FACTOR,
        minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS,
        topics: owned.map(({ spec, name }) => ({
          name,
          partitions: spec.partitions,
          retentionMs: spec.retentionMs,
          cleanupPolicy: spec.cleanupPolicy,
        })),
      });
    }
    await waitForTopics({
      kafka,
      logger,
      timeoutMs: config.KAFKA_TOPIC_WAIT_MS,
      topics: (config.KAFKA_PROVISION_TOPICS ? others : topics).map((topic) => topic.name),
      owners: new Map(topics.map(({ spec, name }) => [name, spec.owner])),
    });
    const newProducer = async (name: string) => {
      const producer = createProducer({ kafka, contracts, logger });
      await producer.connect();
      register({ name, close: () => producer.close() });
      return producer;
    };
    const producer = await newProducer('producer');
    checks.push(
      { name: 'started', check: () => started },
      { name: 'fatal', check: () => fatal === undefined },
      kafkaCheck(admin),
    );

    let pool: pg.Pool | undefined;
    const ctx: ServiceContext<C> = {
      service: definition.name,
      instanceId,
      config,
      logger,
      contracts,
      kafka,
      admin,
      producer,
      metrics,
      createProducer: newProducer,
      consumer: ({ name, groupId, required, ...runnerOptions }) => {
        const group = groupId ?? `${config.KAFKA_GROUP_ID}-${name}`;
        const observer = metrics.consumerObserver(group);
        const runner = createConsumerRunner({
          kafka,
          contracts,
          producer,
          logger: logger.child({ consumer: name }),
          groupId: group,
          sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
          heartbeatIntervalMs: Math.max(500, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 6)),
          shutdownDeadlineMs: config.SHUTDOWN_DEADLINE_MS,
          ...runnerOptions,
          observer: runnerOptions.observer ? fanOut(observer, runnerOptions.observer) : observer,
          onFatal: (error) => {
            metrics.consumerRunning(group, false);
            ctx.fail(
              new SchedulerError('INTERNAL', `consumer ${name} stopped for good: ${error.message}`, {
                cause: error,
              }),
            );
          },
        });
        const check: ReadinessCheck = { name: `consumer:${name}`, check: () => runner.isRunning() };
        // A consumer closed by the service (the ticker's leader-only commands consumer, once per
        // term) leaves the shutdown list and the checks, so closed runners do not pile up.
        const component: Closeable = {
          name: `consumer:${name}`,
          close: async () => {
            const index = components.indexOf(component);
            if (index >= 0) components.splice(index, 1);
            const at = checks.indexOf(check);
            if (at >= 0) checks.splice(at, 1);
            await runner.close();
            metrics.consumerRunning(group, false);
          },
        };
        register(component);
        if (required ?? true) checks.push(check);
        return {
          start: async () => {
            await runner.start();
            metrics.consumerRunning(group, true);
          },
          close: () => component.close(),
          isRunning: () => runner.isRunning(),
        };
      },
      redis: async (role, redisOptions = {}) => {
        if (!config.REDIS_URL)
          throw new SchedulerError('CONFIG_INVALID', `${definition.name} has no REDIS_URL setting`);
        const redis = await connectRedis(
          {
            url: config.REDIS_URL,
            connectionName: `${definition.name}-${role}`,
            ...(redisOptions.autoPipelining === undefined
              ? {}
              : { autoPipelining: redisOptions.autoPipelining }),
            ...(config.REDIS_COMMAND_TIMEOUT_MS ? { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS } : {}),
            ...(config.REDIS_RECONNECT_MAX_MS ? { reconnectMaxMs: config.REDIS_RECONNECT_MAX_MS } : {}),
          },
          logger,
        );
        register({ name: `redis:${role}`, close: () => closeRedis(redis) });
        checks.push({ name: `redis:${role}`, check: () => redisReady(redis) });
        return redis;
      },
      postgres: () => {
        if (pool) return pool;
        if (!config.DATABASE_URL)
          throw new SchedulerError('CONFIG_INVALID', `${definition.name} has no DATABASE_URL setting`);
        const created = new pg.Pool({
          connectionString: config.DATABASE_URL,
          max: config.DATABASE_POOL_SIZE ?? 10,
          application_name: `${definition.name}-${instanceId}`.slice(0, 63),
        });
        created.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
        register({ name: 'postgres', close: () => created.end() });
        checks.push({
          name: 'postgres',
          check: async () => {
            await created.query('SELECT 1');
            return true;
          },
        });
        pool = created;
        return created;
      },
      register,
      addReadinessCheck: (check) => {
        checks.push(check);
      },
      setStatus: (fn) => {
        status = fn;
      },
      fail: (error) => {
        if (fatal) return;
        fatal = toError(error);
        logger.fatal({ err: fatal }, `${definition.name} cannot go on`);
        options.onFatal?.(fatal);
      },
    };

    const opsOptions: OpsRoutesOptions = {
      registry: metrics.registry,
      checks: () => checks,
      status: () => status?.() ?? {},
    };
    const serve = async (app: FastifyInstance): Promise<OpsServer> => {
      let server: OpsServer;
      try {
        server = await listen(app, config.HTTP_HOST, config.HTTP_PORT);
      } catch (error) {
        await app.close().catch(() => undefined);
        throw error;
      }
      register({ name: 'http-server', close: () => server.close() });
      logger.info({ url: server.url() }, 'http server listening');
      return server;
    };
    let ops: OpsServer | undefined;
    if (!definition.http) ops = await serve(buildOpsApp({ ...opsOptions, logger }));

    await definition.start(ctx);
    if (definition.http) ops = await serve(await definition.http(ctx, opsOptions));
    if (!ops) throw new SchedulerError('INTERNAL', 'no HTTP server was started');
    started = true;
    logger.info(`${definition.name} started`);
    return { ctx, ops, close };
  } catch (error) {
    await close();
    const cause = toError(error);
    throw new SchedulerError(
      isConfigOrCode(error) ?? 'DEPENDENCY_UNAVAILABLE',
      `${definition.name} failed to start: ${cause.message}`,
      { cause },
    );
  }
}

function isConfigOrCode(error: unknown): SchedulerError['code'] | undefined {
  return error instanceof SchedulerError ? error.code : undefined;
}

function fanOut(
  first: NonNullable<ConsumerRunnerOptions['observer']>,
  second: NonNullable<ConsumerRunnerOptions['observer']>,
): NonNullable<ConsumerRunnerOptions['observer']> {
  return {
    onMessage: (e) => {
      first.onMessage?.(e);
      second.onMessage?.(e);
    },
    onRetry: (e) => {
      first.onRetry?.(e);
      second.onRetry?.(e);
    },
    onDeadLetterFailed: (e) => {
      first.onDeadLetterFailed?.(e);
      second.onDeadLetterFailed?.(e);
    },
    onLag: (e) => {
      first.onLag?.(e);
      second.onLag?.(e);
    },
  };
}
