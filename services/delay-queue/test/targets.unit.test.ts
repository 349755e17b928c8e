import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createTargetGate } from '../src/targets.ts';

const logger = pino({ level: 'silent' });

/** A gate whose topic listing answers only when the test says so. */
function gateWithSlowListing() {
  const listings: ((topics: string[]) => void)[] = [];
  const gate = createTargetGate({
    listTopics: () => new Promise((resolve) => listings.push(resolve)),
    clock: { now: () => 1_000_000 },
    logger,
    refreshMs: 10_000,
    backoffMaxMs: 1_000,
  });
  return { gate, listings };
}

describe('the target gate', () => {
  it('answers every caller that asks while the topic list is read from that listing', async () => {
    // The dispatch loops of several shards ask at the same moment (the first due batch after a
    // start): the second caller used to be told "does not exist" and held back for refreshMs.
    const { gate, listings } = gateWithSlowListing();
    const first = gate.states(['letters']);
    const second = gate.states(['letters']);
    expect(listings).toHaveLength(1);
    listings[0]?.(['letters']);
    expect((await first).get('letters')).toEqual({ usable: true });
    expect((await second).get('letters')).toEqual({ usable: true });
  });

  it('holds back a topic the listing does not have, for every caller, until the next listing', async () => {
    const { gate, listings } = gateWithSlowListing();
    const first = gate.states(['missing']);
    const second = gate.states(['missing']);
    listings[0]?.(['letters']);
    for (const states of [await first, await second]) {
      expect(states.get('missing')).toMatchObject({
        usable: false,
        code: 'UNKNOWN_TOPIC',
        retryAt: 1_010_000,
      });
    }
    expect(listings).toHaveLength(1);
  });
});
