export {
  baseConfigShape,
  booleanFlag,
  csv,
  httpPort,
  loadConfig,
  logLevel,
  nonNegativeInt,
  positiveInt,
  postgresUrl,
  redisKeyPrefix,
  redisUrl,
  topicName,
} from './config.ts';
export { startOpsServer, type OpsServer, type OpsServerOptions, type ReadinessCheck } from './http.ts';
export { closeAll, runService, type Closeable } from './lifecycle.ts';
export { createLogger, defaultInstanceId } from './logger.ts';
