import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../src/index.ts';

/** A light switch that refuses to be switched while broken. */
type Event = { type: 'On' } | { type: 'Off' } | { type: 'Broke' };
type Command = 'flip' | 'repair';
const spec = deciderSpec({
  initialState: () => ({ on: false, broken: false }),
  evolve: (state: { on: boolean; broken: boolean }, event: Event) =>
    event.type === 'Broke' ? { ...state, broken: true } : { ...state, on: event.type === 'On' },
  decide: (command: Command, state): Event[] => {
    if (command === 'repair') return [];
    if (state.broken)
      throw Object.assign(new Error('broken'), { code: 'CONFLICT', details: { on: state.on } });
    return [{ type: state.on ? 'Off' : 'On' }];
  },
});

describe('deciderSpec', () => {
  it('passes when the decision on the folded history is the expected events', () => {
    spec
      .given([])
      .when('flip')
      .then([{ type: 'On' }]);
    spec
      .given([{ type: 'On' }])
      .when('flip')
      .then([{ type: 'Off' }]);
    spec
      .given([{ type: 'On' }])
      .when('repair')
      .thenNothingHappens();
  });

  it('fails when the decision differs from the expected events', () => {
    expect(() =>
      spec
        .given([{ type: 'On' }])
        .when('flip')
        .then([{ type: 'On' }]),
    ).toThrow();
    expect(() => spec.given([]).when('flip').then([])).toThrow();
    expect(() => spec.given([]).when('flip').thenNothingHappens()).toThrow();
  });

  it('checks a refusal against an object or a function', () => {
    const broken = spec.given([{ type: 'On' }, { type: 'Broke' }]).when('flip');
    broken.thenThrows({ code: 'CONFLICT', details: { on: true } });
    broken.thenThrows((error) => {
      expect(error).toBeInstanceOf(Error);
    });

    expect(() => broken.thenThrows({ code: 'NOT_FOUND' })).toThrow();
    expect(() => broken.thenThrows({ details: { on: false } })).toThrow();
    expect(() =>
      broken.thenThrows((error) => {
        expect(error).toEqual(expect.objectContaining({ details: {} }));
      }),
    ).toThrow();
    expect(() => spec.given([]).when('flip').thenThrows({ code: 'CONFLICT' })).toThrow(
      /expected the decision to throw, it decided \[ \{ type: 'On' \} \]/,
    );
  });
});
