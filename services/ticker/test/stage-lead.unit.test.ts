import { describe, expect, it } from 'vitest';
import { createStageLead } from '../src/kafka/stage-lead.ts';

describe('transaction stage lead', () => {
  it('starts a write early enough for what recent writes of that size took, with its margin', () => {
    const lead = createStageLead({ factor: 1.25, marginMs: 5 });
    for (let i = 0; i < 20; i += 1) lead.record(1_000, 30 + (i % 4) * 5);
    // Fixed 30 ms (the smallest write) + the 75th percentile per trigger (15 ms / 1,000), × 1.25 + 5.
    expect(lead.leadMs(1_000)).toBe(Math.ceil(5 + 1.25 * (30 + 15)));
    expect(lead.leadMs(1_000)).toBeGreaterThan(45);
  });

  it('gives a small instant a short lead and a large one a longer lead', () => {
    const lead = createStageLead();
    for (let i = 0; i < 10; i += 1) lead.record(1_150, 25);
    lead.record(10, 4);
    expect(lead.leadMs(10)).toBeLessThan(15);
    expect(lead.leadMs(10_000)).toBeGreaterThan(lead.leadMs(1_150));
  });

  it('forgets writes older than its window, so a slow spell does not lengthen the lead for good', () => {
    const lead = createStageLead({ samples: 8 });
    for (let i = 0; i < 8; i += 1) lead.record(1_000, 400);
    const slow = lead.leadMs(1_000);
    for (let i = 0; i < 8; i += 1) lead.record(1_000, 20);
    expect(lead.leadMs(1_000)).toBeLessThan(slow / 10);
  });
});
