export {
  DLQ_RETENTION_MS,
  DLQ_SUFFIX,
  TASK_TYPES,
  TOPICS,
  dlqTopicName,
  findTopic,
  topicSpec,
  triggerTopicName,
  type TopicSpec,
  type ValueOf,
} from './catalogue.ts';
export { createCodec, writerSchemaOf, type Codec } from './codec.ts';
export { createContracts, type Contracts } from './contracts.ts';
export { SCHEMA_VERSIONS } from './generated/schemas.ts';
export type * from './generated/types.ts';
export {
  createSchemaRegistry,
  type RegisteredSchema,
  type SchemaRegistry,
  type SchemaVersion,
} from './registry.ts';
export { rabinFingerprint64 } from './rabin.ts';
export { shortName, unionBranch, type UnionBranch } from './unions.ts';
