export {
  deadLetterRecord,
  sendToDeadLetterTopic,
  DLQ_EXCERPT_BYTES,
  type DeadLetter,
} from './consumer/dead-letter.ts';
export { createConsumerRunner, type ConsumerRunner, type ConsumerRunnerOptions } from './consumer/runner.ts';
export {
  batchSubscription,
  subscription,
  type AnySubscription,
  type BatchHandler,
  type BatchResult,
  type BatchSubscription,
  type ConsumedMessage,
  type ConsumerObserver,
  type HandlerContext,
  type MessageHandler,
  type MessageOutcome,
  type RetryPolicy,
  type Subscription,
} from './consumer/types.ts';
export { DLQ_HEADERS, HEADERS, headerText, headersAsText } from './headers.ts';
export { createKafkaClient, type KafkaClientOptions } from './kafka.ts';
export {
  bindTopic,
  createProducer,
  type EncodedBatch,
  type OutgoingMessage,
  type Producer,
  type ProducerOptions,
  type RawMessage,
  type TopicBinding,
  type TopicGroup,
} from './producer.ts';
export { keyPartition } from './partitions.ts';
export {
  DLQ_MAX_MESSAGE_BYTES,
  provisionTopics,
  waitForTopics,
  type ProvisionResult,
  type TopicToProvision,
} from './provision.ts';
export {
  createSinceReader,
  type ReadBackRecord,
  type SinceReader,
  type SinceReaderOptions,
} from './readers/read-since.ts';
export {
  createTableReader,
  type TableReader,
  type TableReaderOptions,
  type TableRecord,
  type UndecodableRecord,
} from './readers/table-reader.ts';
export { extractTraceContext, injectTraceContext } from './tracing.ts';
export { sendEncodedInTraces } from './relay-tracing.ts';
export {
  createTransactionalSender,
  type OpenTransaction,
  type TransactionalSender,
  type TransactionalSenderOptions,
} from './transactional.ts';
