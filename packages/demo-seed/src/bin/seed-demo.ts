// `pnpm seed:demo`: the demo's users (preferences in several zones), letters in every status, old
// unbound drafts, future letters due in the next minutes, couriers and courier tasks (in
// DOMAIN_DB_SCHEMA, migrations applied first), the five default tasks (event store), and the
// FutureLetterScheduled events the letter service would publish. Idempotent: a second run adds and
// changes nothing. Exits 1 naming a bad setting or what failed.
import { createContracts, topicSpec } from '@openpenpal/contracts';
import { domainConfigShape, migrateDomain } from '@openpenpal/domain';
import { toError } from '@openpenpal/errors';
import { eventStoreConfigShape, openEventStore } from '@openpenpal/event-store';
import { createKafkaClient, createProducer } from '@openpenpal/messaging';
import {
  baseConfigShape,
  booleanFlag,
  createLogger,
  kafkaConfigShape,
  kafkaSecurity,
  loadConfig,
  postgresUrl,
  topicName,
} from '@openpenpal/service-kit';
import { seedDefaultTasks } from '@openpenpal/task-definitions';
import { systemClock } from '@openpenpal/timing';
import pg from 'pg';
import { z } from 'zod';
import { publishAiReplyRequest, publishFutureLetterEvents } from '../publish.ts';
import { seedDemoData } from '../seed.ts';

const schema = z.object({
  ...baseConfigShape,
  ...kafkaConfigShape({ clientId: 'seed-demo', groupId: 'seed-demo' }),
  ...eventStoreConfigShape,
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: z.coerce.number().default(0),
  DATABASE_URL: postgresUrl,
  DOMAIN_DB_SCHEMA: domainConfigShape.DOMAIN_DB_SCHEMA,
  /** The event store's database login (the recorder's, which owns its schema); DATABASE_URL when unset. */
  SEED_EVENT_STORE_DATABASE_URL: postgresUrl.optional(),
  /** Define the five default tasks in the event store (the recorder relays them to the ticker). */
  SEED_TASKS: booleanFlag.default(true),
  /** Publish FutureLetterScheduled for the demo's pending future letters. */
  SEED_PUBLISH_EVENTS: booleanFlag.default(true),
  SEED_FUTURE_LETTERS_TOPIC: topicName.default(topicSpec('openpenpal.letters.future-letters').name),
  SEED_AI_REQUESTS_TOPIC: topicName.default(topicSpec('openpenpal.ai.reply-requests').name),
});

const pools: pg.Pool[] = [];
try {
  const config = loadConfig(schema);
  const logger = createLogger({ service: 'seed-demo', level: config.LOG_LEVEL });
  const now = systemClock.now();
  await migrateDomain({ databaseUrl: config.DATABASE_URL, schema: config.DOMAIN_DB_SCHEMA, logger });
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
  pools.push(pool);
  const result = await seedDemoData(pool, config.DOMAIN_DB_SCHEMA, now);
  logger.info({ inserted: result.inserted }, 'demo rows seeded');

  if (config.SEED_TASKS) {
    const esPool = new pg.Pool({
      connectionString: config.SEED_EVENT_STORE_DATABASE_URL ?? config.DATABASE_URL,
      max: 2,
    });
    pools.push(esPool);
    const opened = await openEventStore(config, { pool: esPool, logger });
    try {
      const tasks = await seedDefaultTasks(
        { store: opened.store, clock: systemClock },
        { actor: 'seed:demo' },
      );
      logger.info({ tasks: tasks.map((t) => `${t.task_id}:${t.outcome}`) }, 'default tasks seeded');
    } finally {
      await opened.close();
    }
  }

  if (config.SEED_PUBLISH_EVENTS) {
    const kafka = createKafkaClient({
      brokers: config.KAFKA_BROKERS,
      clientId: config.KAFKA_CLIENT_ID,
      logger,
      config: kafkaSecurity(config),
    });
    const producer = createProducer({ kafka, contracts: createContracts(), logger });
    try {
      await publishFutureLetterEvents(
        producer,
        { topic: config.SEED_FUTURE_LETTERS_TOPIC, schema: 'FutureLetterEvent' },
        result.pendingFutureLetters,
        now,
      );
      if (result.aiLetter) {
        await publishAiReplyRequest(
          producer,
          { topic: config.SEED_AI_REQUESTS_TOPIC, schema: 'AiReplyRequested' },
          result.aiLetter,
        );
      }
    } finally {
      await producer.close();
    }
    logger.info(
      { letters: result.pendingFutureLetters.map((l) => `${l.letterId}@${l.scheduledAt.toISOString()}`) },
      'FutureLetterScheduled published for the pending demo letters, AiReplyRequested for the letter to the poet',
    );
  }
  process.stdout.write(
    `seed:demo: ${Object.entries(result.inserted)
      .map(([table, n]) => `${table} +${n}`)
      .join(', ')}; ${result.pendingFutureLetters.length} future letters pending\n`,
  );
} catch (error) {
  process.stderr.write(`seed:demo failed: ${toError(error).message}\n`);
  process.exitCode = 1;
} finally {
  await Promise.all(pools.map((pool) => pool.end()));
}
