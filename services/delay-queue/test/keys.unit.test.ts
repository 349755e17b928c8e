import { describe, expect, it } from 'vitest';
import { FIRED_BUCKETS, delayStoreKeys } from '../src/store/index.ts';

const DAY = 24 * 60 * 60 * 1000;

describe('delay store keys', () => {
  it('puts every key under one hash tag made of the prefix', () => {
    const keys = delayStoreKeys('openpenpal:delay', 7 * DAY);
    const names = [
      keys.pending,
      keys.inFlight,
      keys.items,
      keys.replacements,
      keys.wakeChannel,
      keys.firedWrite(0).key,
    ];
    for (const name of names) expect(name.startsWith('{openpenpal:delay}:')).toBe(true);
    expect(new Set(names).size).toBe(names.length);
    expect(keys.pattern).toBe('{openpenpal:delay}:*');
  });

  it('rejects a prefix that would break the hash tag', () => {
    for (const prefix of ['', 'a{b', 'a}b']) expect(() => delayStoreKeys(prefix, DAY)).toThrow(TypeError);
  });

  it('finds a fired marker for at least the TTL and expires its bucket no earlier', () => {
    const ttl = 7 * DAY;
    const keys = delayStoreKeys('p', ttl);
    const width = ttl / FIRED_BUCKETS;
    for (const firedAt of [0, 1, width - 1, width, 1_764_000_000_000, 1_764_000_000_000 + width / 2]) {
      const written = keys.firedWrite(firedAt);
      expect(written.expireAt).toBeGreaterThanOrEqual(firedAt + ttl);
      expect(written.expireAt).toBeLessThanOrEqual(firedAt + ttl + width);
      for (const later of [firedAt, firedAt + 1, firedAt + ttl / 2, firedAt + ttl - 1]) {
        expect(keys.firedLookup(later)).toContain(written.key);
      }
      // Past the bucket's expiry a lookup stops asking for it.
      expect(keys.firedLookup(written.expireAt)).not.toContain(written.key);
    }
  });

  it('looks up a fixed number of distinct buckets and keeps generations of TTLs apart', () => {
    const lookup = delayStoreKeys('p', 7 * DAY).firedLookup(1_764_000_000_000);
    expect(lookup).toHaveLength(FIRED_BUCKETS + 1);
    expect(new Set(lookup).size).toBe(lookup.length);
    const other = delayStoreKeys('p', DAY).firedLookup(1_764_000_000_000);
    expect(other.filter((key) => lookup.includes(key))).toEqual([]);
  });
});
