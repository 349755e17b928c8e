import { describe, expect, it } from 'vitest';
import { parseQuietHours, quietHoursEnd } from '../src/preferences/quiet-hours.ts';

const at = (iso: string) => Date.parse(iso);

describe('quiet hours', () => {
  it('parses the platform format and ignores empty or malformed ranges', () => {
    expect(parseQuietHours('22:00-08:00')).toEqual({ startMinute: 1320, endMinute: 480 });
    expect(parseQuietHours('08:00-08:00')).toBeUndefined();
    expect(parseQuietHours('25:00-08:00')).toBeUndefined();
    expect(parseQuietHours(null)).toBeUndefined();
  });

  it('ends overnight quiet hours at the next local end time in the user zone', () => {
    const range = parseQuietHours('22:00-08:00')!;
    // 23:30 in Shanghai (UTC+8) is 15:30 UTC; the end is 08:00 local = 00:00 UTC next day.
    expect(quietHoursEnd(range, 'Asia/Shanghai', at('2026-03-01T15:30:00Z'))).toBe(
      at('2026-03-02T00:00:00Z'),
    );
    // 07:59 local: one minute left.
    expect(quietHoursEnd(range, 'Asia/Shanghai', at('2026-03-01T23:59:00Z'))).toBe(
      at('2026-03-02T00:00:00Z'),
    );
    // 08:00 local and noon are outside.
    expect(quietHoursEnd(range, 'Asia/Shanghai', at('2026-03-02T00:00:00Z'))).toBeUndefined();
    expect(quietHoursEnd(range, 'Asia/Shanghai', at('2026-03-02T04:00:00Z'))).toBeUndefined();
  });

  it('handles a daytime range and a DST change inside the quiet hours', () => {
    expect(quietHoursEnd(parseQuietHours('13:00-14:00')!, 'UTC', at('2026-03-01T13:20:10Z'))).toBe(
      at('2026-03-01T14:00:00Z'),
    );
    // New York springs forward at 02:00 on 2026-03-08: 23:00 EST (04:00 UTC) to 08:00 EDT (12:00 UTC).
    expect(
      quietHoursEnd(parseQuietHours('22:00-08:00')!, 'America/New_York', at('2026-03-08T04:00:00Z')),
    ).toBe(at('2026-03-08T12:00:00Z'));
  });
});
