export {
  baseConfigShape,
  booleanFlag,
  csv,
  loadConfig,
  logLevel,
  nonNegativeInt,
  positiveInt,
  topicName,
} from './config.ts';
export { startOpsServer, type OpsServer, type OpsServerOptions, type ReadinessCheck } from './http.ts';
export { closeAll, runService, type Closeable } from './lifecycle.ts';
export { createLogger, defaultInstanceId } from './logger.ts';
