export { createConsumerRunner, type ConsumerRunner, type ConsumerRunnerOptions } from './consumer.ts';
export { sendToDeadLetterTopic, type DeadLetter } from './dead-letter.ts';
export { DLQ_HEADERS, HEADERS, headerText, headersAsText } from './headers.ts';
export { createKafkaClient, type KafkaClientOptions } from './kafka.ts';
export { subscription } from './process-message.ts';
export type {
  AnySubscription,
  ConsumedMessage,
  ConsumerObserver,
  HandlerContext,
  MessageHandler,
  MessageOutcome,
  RetryPolicy,
  Subscription,
} from './process-message.ts';
export {
  bindTopic,
  createProducer,
  type OutgoingMessage,
  type Producer,
  type ProducerOptions,
  type TopicBinding,
} from './producer.ts';
export { provisionTopics, type ProvisionResult, type TopicToProvision } from './provision.ts';
export { extractTraceContext, injectTraceContext } from './tracing.ts';
