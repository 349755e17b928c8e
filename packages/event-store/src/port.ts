/**
 * The event store port. Adapters (PostgreSQL, EventStoreDB/KurrentDB) implement it and one conformance
 * suite (test/conformance.ts) holds every adapter to the same behaviour.
 */

/** A JSON object: what `data` and `metadata` hold. Values must survive `JSON.stringify`/`JSON.parse`. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** An event to append. `id` is a UUID chosen by the writer: re-appending the same id stores nothing new. */
export interface EventData {
  id: string;
  type: string;
  data: JsonObject;
  metadata?: JsonObject;
}

/** An event as stored. */
export interface RecordedEvent {
  id: string;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  streamId: string;
  /** 0 for the first event of a stream, then +1 per event. */
  revision: bigint;
  /** Global order across all streams; strictly increasing, not dense (adapters leave gaps). */
  position: bigint;
  createdAt: Date;
}

/**
 * What the writer believes about the stream: `any` (no check), `no_stream` (must not exist yet),
 * `stream_exists` (must have at least one event) or the revision of its last event.
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

/** The stream's last revision, or `no_stream`. */
export type CurrentRevision = 'no_stream' | bigint;

export interface AppendOptions {
  /** Default `any`. */
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** The revision of the last event appended: pass it as `expectedRevision` on the next append. */
  nextExpectedRevision: bigint;
  /** The global position of the last event appended. */
  position: bigint;
}

/** One stream's part of a multi-stream append (`EventStore.appendMany`). */
export interface AppendRequest {
  streamId: string;
  events: readonly EventData[];
  /** Default `any`. */
  expectedRevision?: ExpectedRevision;
  /**
   * Events whose ids are already stored in this stream: `conflict` (default) applies `append`'s rule (a
   * batch stored whole, in order, is a replay; a mix of stored and new ids is a CONFLICT); `skip` leaves
   * them out and appends the rest, checking the expected revision only when something is left to append.
   * `skip` is what a consumer of at-least-once messages wants: a redelivered message may arrive in one
   * batch with messages that were never recorded.
   */
  onStored?: 'conflict' | 'skip';
}

export interface AppendManyResult extends AppendResult {
  /** How many events this call stored for the request (0 for a replay). */
  appended: number;
  /** Ids of the request that were already stored in its stream and so were not stored again. */
  skippedIds: string[];
}

export interface ReadStreamOptions {
  /** Default `forwards`. */
  direction?: 'forwards' | 'backwards';
  /**
   * The first revision to return (inclusive). Default: the first event forwards, the last one backwards.
   */
  fromRevision?: bigint;
  /** Default: no limit. */
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Return only events whose position is greater than this (a checkpoint). Default: from the beginning. */
  after?: bigint;
  /** Default 1000: read pages and pass the last position as `after` to get the next one. */
  maxCount?: number;
}

/** Awaited before the next event is delivered; a throw stops the subscription (see `Subscription.done`). */
export type EventHandler = (event: RecordedEvent) => Promise<void> | void;

export interface SubscribeOptions {
  /** Deliver events whose position is greater than this checkpoint. Default: from the beginning. */
  after?: bigint;
  /** Only streams of this category (the stream id before its first `-`). Default: every stream. */
  category?: string;
  handler: EventHandler;
}

/** A catch-up subscription: it delivers stored events in position order, then live ones as they come. */
export interface Subscription {
  /**
   * Resolves once every event stored when the subscription started has been handled; rejects if the
   * subscription stops first.
   */
  readonly caughtUp: Promise<void>;
  /** Resolves when close() has stopped the subscription; rejects with the error that stopped it otherwise. */
  readonly done: Promise<void>;
  /** Stops delivery and waits for the handler in flight; safe to call twice. */
  close(): Promise<void>;
}

export interface EventStore {
  /**
   * Appends events atomically to one stream. Throws `SchedulerError('CONFLICT')` when the expected
   * revision does not hold (details: stream, expected, actual) or when some, but not all, of the event
   * ids are already stored. When all of them are already stored in this stream, in this order, it stores
   * nothing and returns the original result, so a redelivered message is recorded once.
   */
  append(streamId: string, events: readonly EventData[], options?: AppendOptions): Promise<AppendResult>;
  /**
   * Appends to several streams in one call: one result per request, in request order; positions follow
   * the request order. Each request follows `append`'s rules (see `AppendRequest.onStored`). Stream ids
   * must differ between requests, and event ids across the whole call (VALIDATION_FAILED otherwise).
   * PostgreSQL stores all requests in one transaction: a CONFLICT in any of them stores nothing.
   * EventStoreDB appends stream by stream: a CONFLICT stops the call, and the requests before it stay
   * appended (calling again with `skip` completes the rest without duplicates).
   */
  appendMany(requests: readonly AppendRequest[]): Promise<AppendManyResult[]>;
  /** Events of one stream; a stream that does not exist reads as empty. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Events of all streams in position order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Events of one category's streams in position order. */
  readCategory(category: string, options?: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribe(options: SubscribeOptions): Subscription;
  /** Closes the store's subscriptions and its own connections (never the injected pool or client). */
  close(): Promise<void>;
}

/** The part of a pino logger the adapters use. */
export interface EventStoreLogger {
  warn(context: Record<string, unknown>, message: string): void;
  error(context: Record<string, unknown>, message: string): void;
}

export const DEFAULT_READ_ALL_COUNT = 1000;
