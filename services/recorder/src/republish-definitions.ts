// `pnpm --filter @openpenpal/recorder run republish-definitions`: publishes every task's current definition
// (a tombstone for a deleted one) from the event store to the task-definitions topic, e.g. after the
// topic was lost. Reads the recorder's own variables (see README).
import { createContracts } from '@openpenpal/contracts';
import { toError } from '@openpenpal/errors';
import { createKafkaClient, createProducer } from '@openpenpal/messaging';
import { createLogger } from '@openpenpal/service-kit';
import pg from 'pg';
import { loadRecorderConfig } from './config.ts';
import { openEventStore } from './event-store.ts';
import { republishDefinitions } from './relay/republish-definitions.ts';

const config = loadRecorderConfig();
const logger = createLogger({ service: 'recorder-republish', level: config.LOG_LEVEL });
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 2 });
const kafka = createKafkaClient({
  brokers: config.KAFKA_BROKERS,
  clientId: `${config.KAFKA_CLIENT_ID}-republish`,
  logger,
});
const producer = createProducer({ kafka, contracts: createContracts(), logger });
let exitCode = 0;
try {
  const eventStore = await openEventStore(config, pool, logger);
  try {
    const summary = await republishDefinitions({
      store: eventStore.store,
      producer,
      topic: config.RECORDER_DEFINITIONS_TOPIC,
      logger,
    });
    logger.info({ ...summary, topic: config.RECORDER_DEFINITIONS_TOPIC }, 'task definitions re-published');
  } finally {
    await eventStore.close();
  }
} catch (error) {
  logger.fatal({ err: toError(error) }, 're-publishing failed');
  exitCode = 1;
} finally {
  await producer.close();
  await pool.end();
}
process.exitCode = exitCode;
