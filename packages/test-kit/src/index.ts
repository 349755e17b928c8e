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
