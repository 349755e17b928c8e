export {
  baseConfigShape,
  booleanFlag,
  csv,
  httpConfigShape,
  httpPort,
  kafkaConfigShape,
  loadConfig,
  logLevel,
  nonNegativeInt,
  positiveInt,
  postgresConfigShape,
  postgresUrl,
  redisConfigShape,
  redisKeyPrefix,
  redisUrl,
  runtimeConfigShape,
  serviceConfig,
  topicName,
  type RuntimeConfig,
} from './config.ts';
export { closeAll, type Closeable } from './lifecycle.ts';
export { createLogger, defaultInstanceId } from './logger.ts';
export { METRIC_PREFIX, createServiceMetrics, type ServiceMetrics } from './metrics.ts';
export { buildOpsApp, opsRoutes, type OpsRoutesOptions } from './ops/app.ts';
export { httpTracing, type HttpTracingOptions } from './ops/http-tracing.ts';
export { cachedCheck, kafkaCheck, type CheckResult, type ReadinessCheck } from './ops/readiness.ts';
export { listen, type OpsServer } from './ops/server.ts';
export {
  defineService,
  startService,
  type RunningService,
  type ServiceConsumerOptions,
  type ServiceContext,
  type ServiceDefinition,
  type StartOptions,
  type TopicUse,
} from './runtime/service.ts';
export { kafkaSecurity } from './runtime/kafka-settings.ts';
