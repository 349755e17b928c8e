import { describe, expect, it } from 'vitest';
import { shortName, unionBranch } from '../src/unions.ts';

type Event = { 'n.Started': { at: number } } | { 'n.Failed': { reason: string } };

describe('unionBranch', () => {
  it('narrows a wrapped union by branch name', () => {
    const received = (): Event => ({ 'n.Failed': { reason: 'boom' } });
    const event = received();
    const branch = unionBranch(event);
    if (branch.name !== 'n.Failed') throw new Error('wrong branch');
    expect(branch.value.reason).toBe('boom');
    expect(shortName(branch.name)).toBe('Failed');
  });

  it('rejects an object that is not a single-branch union', () => {
    expect(() => unionBranch({})).toThrow(/exactly one branch/);
  });
});
