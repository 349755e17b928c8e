/**
 * Span attribute names, in one place. Messaging and database names follow the OpenTelemetry
 * semantic conventions for messaging and for database client calls; the `openpenpal.*` names are ours.
 */
export const ATTR = {
  messagingSystem: 'messaging.system',
  messagingOperation: 'messaging.operation.type',
  messagingDestination: 'messaging.destination.name',
  messagingConsumerGroup: 'messaging.consumer.group.name',
  messagingMessageId: 'messaging.message.id',
  messagingKafkaKey: 'messaging.kafka.message.key',
  messagingKafkaPartition: 'messaging.destination.partition.id',
  messagingKafkaOffset: 'messaging.kafka.offset',
  messagingBatchSize: 'messaging.batch.message_count',
  dbSystem: 'db.system.name',
  dbOperation: 'db.operation.name',
  dbNamespace: 'db.namespace',
  dbBatchSize: 'db.operation.batch.size',
  dbStoredProcedure: 'db.stored_procedure.name',
  dbCollection: 'db.collection.name',
  dbResponseRows: 'db.response.returned_rows',
  eventCount: 'openpenpal.event.count',
  errorCode: 'openpenpal.error.code',
  attempt: 'openpenpal.attempt',
  taskId: 'openpenpal.task.id',
  taskType: 'openpenpal.task.type',
  executionId: 'openpenpal.execution.id',
  schema: 'openpenpal.schema',
  delayedMessageId: 'openpenpal.delayed_message.id',
} as const;
