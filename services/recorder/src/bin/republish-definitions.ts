// `pnpm --filter @openpenpal/recorder run republish-definitions`: publishes every task's current definition
// (a tombstone for a deleted one) from the event store to the task-definitions topic, e.g. after the
// topic was lost. Reads the recorder's own variables (see README) and runs on the service runtime, so
// Kafka security, the producer and the pool are the service's; its ops listener takes a free port, so
// it can run next to a recorder on the same host. Exits 1 on a bad setting or a failed run.
import { toError } from '@openpenpal/errors';
import { openEventStore } from '@openpenpal/event-store';
import { createLogger, defineService, loadConfig, startService } from '@openpenpal/service-kit';
import { recorderConfigSchema } from '../config.ts';
import { republishDefinitions } from '../relay/republish-definitions.ts';

const republishJob = defineService({
  name: 'recorder-republish',
  configSchema: recorderConfigSchema,
  topics: () => [],
  start: () => Promise.resolve(),
});

let config;
try {
  config = loadConfig(recorderConfigSchema);
} catch (error) {
  process.stderr.write(`recorder republish-definitions: ${toError(error).message}\n`);
  process.exit(1);
}
const logger = createLogger({ service: republishJob.name, level: config.LOG_LEVEL });
let exitCode = 0;
try {
  const running = await startService(republishJob, {
    config: { ...config, HTTP_PORT: 0, KAFKA_CLIENT_ID: `${config.KAFKA_CLIENT_ID}-republish` },
    logger,
  });
  try {
    const eventStore = await openEventStore(config, { pool: running.ctx.postgres(), logger });
    running.ctx.register({ name: 'event-store', close: () => eventStore.close() });
    const topic = config.RECORDER_DEFINITIONS_TOPIC;
    const summary = await republishDefinitions({
      store: eventStore.store,
      producer: running.ctx.producer,
      topic,
      logger,
    });
    logger.info({ ...summary, topic }, 'task definitions re-published');
  } finally {
    if (!(await running.close())) exitCode = 1;
  }
} catch (error) {
  logger.fatal({ err: toError(error) }, 're-publishing failed');
  exitCode = 1;
}
process.exitCode = exitCode;
