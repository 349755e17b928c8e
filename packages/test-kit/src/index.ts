export { deciderSpec } from './decider.ts';
export {
  createKafkaTestContext,
  testKafkaClient,
  type KafkaTestContext,
  type TopicRequest,
} from './kafka.ts';
export { uniqueName } from './names.ts';
export { createPgTestContext, type PgTestContext } from './postgres.ts';
export { createRedisTestContext, type RedisTestContext } from './redis.ts';
export { findWorkspaceRoot, loadStackEnv, stackEnvFile, type StackEnv } from './stack-env.ts';
export { createManualClock, type ManualClock, type TestClock } from './clock.ts';
export { collectTopics, type CollectedMessage, type TopicCollector } from './collector.ts';
export { errorWithCode } from './errors.ts';
export { waitFor } from './wait.ts';
export { positiveOption } from './cli-options.ts';
export { documentedSettings } from './docs.ts';
export {
  javaVersion,
  loadAverage,
  machine,
  sourceTree,
  summarise,
  watchLoad,
  type PercentileSummary,
} from './measure.ts';
