// The delay queue's composition root: telemetry, config, logger, then the service under runService
// (SIGTERM/SIGINT close every component in reverse start order within SHUTDOWN_DEADLINE_MS).
import { startTelemetry } from '@openpenpal/telemetry/sdk';
import { createLogger, defaultInstanceId, runService } from '@openpenpal/service-kit';
import { startDelayQueue } from './app.ts';
import { loadDelayQueueConfig } from './config.ts';

const telemetry = startTelemetry({ serviceName: 'delay-queue' });
const config = loadDelayQueueConfig();
const logger = createLogger({
  service: 'delay-queue',
  level: config.LOG_LEVEL,
  instanceId: config.INSTANCE_ID ?? defaultInstanceId(),
});

await runService({
  name: 'delay-queue',
  logger,
  shutdownDeadlineMs: config.SHUTDOWN_DEADLINE_MS,
  start: async (register) => {
    register({ name: 'telemetry', close: () => telemetry.shutdown() });
    await startDelayQueue({ config, logger, register });
  },
});
