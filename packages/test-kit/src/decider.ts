import { inspect } from 'node:util';
import { expect } from 'vitest';

/**
 * The decider as the event store's command handler runs it (`Decider` of `@openpenpal/event-store`),
 * spelled out here so that the test kit does not depend on the event store.
 */
interface SpecifiedDecider<State, Command, Event, Stored> {
  decide(command: Command, state: State): readonly Event[];
  evolve(state: State, event: Stored): State;
  initialState(): State;
}

/**
 * What a refused command must throw: an object the error must match (`toMatchObject`: every property
 * given, at any depth, as `{ code: 'NOT_FOUND', details: { deleted: true } }`), or a function that
 * asserts on the error itself (for an exact match, for example).
 */
type ThrowExpectation = object | ((error: unknown) => void);

interface Outcome<Event> {
  /** The decision is exactly these events, in this order. */
  then(expected: readonly Event[]): void;
  /** The decision is no event: the command changes nothing. */
  thenNothingHappens(): void;
  /** The decision refuses the command with an error that meets the expectation. */
  thenThrows(expected: ThrowExpectation): void;
}

/**
 * Given/when/then for a decider: `given` the events already in the stream (as `evolve` takes them,
 * oldest first), `when` a command is decided on the state they fold to, `then` these events, or
 * `thenThrows` an error. The state comes from the decider's own `initialState` and `evolve`, so a
 * test states history, not a hand-built state that the fold might never produce.
 */
export function deciderSpec<State, Command, Event, Stored>(
  decider: SpecifiedDecider<State, Command, Event, Stored>,
): { given(events: readonly Stored[]): { when(command: Command): Outcome<Event> } } {
  return {
    given: (events) => ({
      when: (command) => {
        const decide = (): readonly Event[] =>
          decider.decide(
            command,
            events.reduce((state, event) => decider.evolve(state, event), decider.initialState()),
          );
        return {
          then: (expected) => {
            expect(decide()).toEqual(expected);
          },
          thenNothingHappens: () => {
            expect(decide()).toEqual([]);
          },
          thenThrows: (expected) => {
            let decided: readonly Event[];
            try {
              decided = decide();
            } catch (error) {
              if (typeof expected === 'function') (expected as (error: unknown) => void)(error);
              else expect(error).toMatchObject(expected);
              return;
            }
            expect.fail(`expected the decision to throw, it decided ${inspect(decided, { depth: 6 })}`);
          },
        };
      },
    }),
  };
}
