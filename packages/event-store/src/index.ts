export type {
  AppendManyResult,
  AppendOptions,
  AppendRequest,
  AppendResult,
  CurrentRevision,
  EventData,
  EventHandler,
  EventStore,
  EventStoreLogger,
  ExpectedRevision,
  JsonObject,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from './port.ts';
export { DEFAULT_READ_ALL_COUNT } from './port.ts';
export {
  createCommandHandler,
  type CommandHandler,
  type CommandHandlerOptions,
  type CommandHandlerResult,
  type Decider,
  type HandleOptions,
  type NewEvent,
} from './command-handler.ts';
export { categoryOf } from './validation.ts';
export {
  createPostgresEventStore,
  type PostgresEventStore,
  type PostgresEventStoreOptions,
} from './postgres/store.ts';
export { DEFAULT_SCHEMA as DEFAULT_POSTGRES_SCHEMA } from './postgres/schema.ts';
export { createEsdbEventStore, type EsdbEventStoreOptions } from './esdb/store.ts';
export { createInMemoryEventStore, type InMemoryEventStoreOptions } from './memory/store.ts';
export {
  eventStoreConfigShape,
  openEventStore,
  refineEventStoreConfig,
  type EventStoreConfig,
  type OpenEventStoreOptions,
  type OpenedEventStore,
} from './open.ts';
