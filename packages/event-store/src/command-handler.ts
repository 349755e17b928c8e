import { randomUUID } from 'node:crypto';
import { SchedulerError } from '@openpenpal/errors';
import type { CurrentRevision, EventStore, JsonObject, RecordedEvent } from './port.ts';
import { conflictError } from './validation.ts';

/** An event a decision produces: what is appended, less the id (the handler gives it one). */
export interface NewEvent {
  type: string;
  data: JsonObject;
  metadata?: JsonObject;
}

/**
 * A stream's behaviour as three pure functions. `evolve` takes events as read back (`Stored`: what
 * `fromStored` makes of a recorded event), so a state may keep where it stands in its stream.
 */
export interface Decider<State, Command, Event extends NewEvent, Stored> {
  /** The events a command causes in a state; none when it changes nothing. Throws to refuse it. */
  decide(command: Command, state: State): readonly Event[];
  evolve(state: State, event: Stored): State;
  /** The state of a stream without events. */
  initialState(): State;
}

export interface CommandHandlerOptions<State, Command, Event extends NewEvent, Stored> {
  store: EventStore;
  decider: Decider<State, Command, Event, Stored>;
  /** Reads a recorded event as `evolve` takes it; `undefined` leaves it out (a type the decider ignores). */
  fromStored: (event: RecordedEvent) => Stored | undefined;
  /**
   * The id of the n-th event of the command with this id. It must always derive the same id from the
   * same arguments (a name-based UUID): that is what lets a retried command be recorded once.
   */
  eventId?: (commandId: string, index: number) => string;
  /** Ids of the events of a command without an id; default `crypto.randomUUID`. */
  randomEventId?: () => string;
}

export interface HandleOptions {
  /**
   * The caller's id for this command (an idempotency key). The events' ids derive from it (`eventId`);
   * when the stream already holds them, the command is a retry: nothing is decided or appended again and
   * the answer names the events the first try appended. One id names one command: reusing it for
   * another command answers as the first one did.
   */
  commandId?: string;
  /** The revision the caller last saw: CONFLICT when the stream has moved on since. */
  expectedRevision?: CurrentRevision;
}

export interface CommandHandlerResult<State> {
  /** The state after the command (for a retry: the current state). */
  state: State;
  /** The events the command appended, as stored (for a retry: those of its first try); `[]` for none. */
  appended: RecordedEvent[];
  /** The stream's revision after the command: of its last event, else the current one. */
  revision: CurrentRevision;
  /** True when the command was recognised as a retry of one already recorded. */
  retried: boolean;
}

export type CommandHandler<State, Command> = (
  streamId: string,
  command: Command,
  options?: HandleOptions,
) => Promise<CommandHandlerResult<State>>;

/**
 * One way to run a command on an event-sourced stream: read the stream, fold it from the initial state,
 * decide, and append with the revision read as the expected revision. A write by someone else in between
 * makes the store throw `SchedulerError('CONFLICT')` instead of losing an update; the handler does not
 * retry it, since the caller may want to look at the new state first.
 */
export function createCommandHandler<State, Command, Event extends NewEvent, Stored>(
  options: CommandHandlerOptions<State, Command, Event, Stored>,
): CommandHandler<State, Command> {
  const { store, decider } = options;
  const randomEventId = options.randomEventId ?? randomUUID;

  const fold = (state: State, events: readonly RecordedEvent[]): State =>
    events.reduce((current, event) => {
      const stored = options.fromStored(event);
      return stored === undefined ? current : decider.evolve(current, stored);
    }, state);

  // Ids are compared lower-cased, as the store keeps them.
  const derivedId = (commandId: string, index: number): string => {
    if (options.eventId === undefined) {
      throw new SchedulerError('INTERNAL', 'a command id was given to a handler that derives no event ids');
    }
    return options.eventId(commandId, index).toLowerCase();
  };

  /** The events a command with this id appended earlier: consecutive, from its first derived id on. */
  const earlierTry = (events: readonly RecordedEvent[], commandId: string): RecordedEvent[] => {
    const start = events.findIndex((event) => event.id === derivedId(commandId, 0));
    if (start === -1) return [];
    const found: RecordedEvent[] = [];
    for (const event of events.slice(start)) {
      if (event.id !== derivedId(commandId, found.length)) break;
      found.push(event);
    }
    return found;
  };

  return async (streamId, command, handleOptions = {}) => {
    const { commandId, expectedRevision } = handleOptions;
    const events = await store.readStream(streamId);
    const revision: CurrentRevision = events.at(-1)?.revision ?? 'no_stream';
    const state = fold(decider.initialState(), events);

    if (commandId !== undefined) {
      const earlier = earlierTry(events, commandId);
      const last = earlier.at(-1);
      if (last !== undefined) return { state, appended: earlier, revision: last.revision, retried: true };
    }
    // Checked before deciding: a caller who saw an older state may have asked for something else.
    if (expectedRevision !== undefined && expectedRevision !== revision) {
      throw conflictError(streamId, expectedRevision, revision);
    }

    const decided = decider.decide(command, state);
    if (decided.length === 0) return { state, appended: [], revision, retried: false };
    const result = await store.append(
      streamId,
      decided.map((event, index) => ({
        ...event,
        id: commandId === undefined ? randomEventId() : derivedId(commandId, index),
      })),
      { expectedRevision: revision },
    );
    // Read back rather than rebuilt: positions and recorded times are the store's to give.
    const first = result.nextExpectedRevision - BigInt(decided.length) + 1n;
    const appended = await store.readStream(streamId, { fromRevision: first, maxCount: decided.length });
    if (appended.length !== decided.length) {
      throw new SchedulerError('INTERNAL', `the events appended to ${streamId} did not read back`, {
        details: { stream: streamId, appended: decided.length, read: appended.length },
      });
    }
    return { state: fold(state, appended), appended, revision: result.nextExpectedRevision, retried: false };
  };
}
