import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { dueTime, isIanaZone, localDay, outOfQuietHours, parseQuietHours } from '../src/schedule/due-time.ts';

const local = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toMillis();
const iso = (ms: number, zone: string) =>
  DateTime.fromMillis(ms, { zone }).toISO({ suppressMilliseconds: true });
const due = (delay: Parameters<typeof dueTime>[0], at: number, zone: string) => {
  const result = dueTime(delay, at, zone);
  if (!result.ok) throw new Error(result.reason);
  return result.dueAt;
};
const preset = (
  p: 'one_hour' | 'three_hours' | 'tomorrow_morning' | 'tomorrow' | 'weekend' | 'nextweek',
) => ({
  'org.openpenpal.platform.AiReplyDelayPreset': { preset: p },
});
const SH = 'Asia/Shanghai';
const reasonOf = (result: ReturnType<typeof dueTime>) => (result.ok ? 'accepted' : result.reason);
const NY = 'America/New_York';

describe('due time of a reply request', () => {
  it('adds delay hours to the request time', () => {
    const at = local('2026-03-10T09:30:00', SH);
    expect(due({ 'org.openpenpal.platform.AiReplyDelayHours': { delayHours: 24 } }, at, SH)).toBe(
      at + 24 * 3_600_000,
    );
  });

  it('computes every preset in the user zone', () => {
    const at = local('2026-03-11T21:15:00', SH); // a Wednesday
    expect(iso(due(preset('one_hour'), at, SH), SH)).toBe('2026-03-11T22:15:00+08:00');
    expect(iso(due(preset('three_hours'), at, SH), SH)).toBe('2026-03-12T00:15:00+08:00');
    expect(iso(due(preset('tomorrow_morning'), at, SH), SH)).toBe('2026-03-12T08:00:00+08:00');
    expect(iso(due(preset('tomorrow'), at, SH), SH)).toBe('2026-03-12T21:15:00+08:00');
    expect(iso(due(preset('weekend'), at, SH), SH)).toBe('2026-03-14T10:00:00+08:00');
    expect(iso(due(preset('nextweek'), at, SH), SH)).toBe('2026-03-18T21:15:00+08:00');
    // Before 08:00 the next 08:00 is today's; on Saturday after 10:00 the next Saturday.
    expect(iso(due(preset('tomorrow_morning'), local('2026-03-11T06:00:00', SH), SH), SH)).toBe(
      '2026-03-11T08:00:00+08:00',
    );
    expect(iso(due(preset('weekend'), local('2026-03-14T11:00:00', SH), SH), SH)).toBe(
      '2026-03-21T10:00:00+08:00',
    );
    expect(iso(due(preset('weekend'), local('2026-03-15T11:00:00', SH), SH), SH)).toBe(
      '2026-03-21T10:00:00+08:00',
    );
  });

  it('keeps the wall time for calendar days across a DST change', () => {
    const at = local('2026-03-07T09:00:00', NY); // DST starts 2026-03-08
    expect(iso(due(preset('nextweek'), at, NY), NY)).toBe('2026-03-14T09:00:00-04:00');
    expect(
      iso(
        due({ 'org.openpenpal.platform.AiReplyDelayRelative': { days: 2, hours: 1, minutes: 30 } }, at, NY),
        NY,
      ),
    ).toBe('2026-03-09T10:30:00-04:00');
    expect(iso(due(preset('tomorrow_morning'), local('2026-03-07T22:00:00', NY), NY), NY)).toBe(
      '2026-03-08T08:00:00-04:00',
    );
  });

  it('refuses delays out of range with the field named', () => {
    const at = Date.UTC(2026, 0, 1);
    const rel = (days: number, hours: number, minutes: number) => ({
      'org.openpenpal.platform.AiReplyDelayRelative': { days, hours, minutes },
    });
    const absolute = (ms: number) => ({ 'org.openpenpal.platform.AiReplyDelayAbsolute': { at: ms } });
    expect(reasonOf(dueTime(rel(366, 0, 0), at, SH))).toBe('delay.days: must be from 0 to 365');
    expect(reasonOf(dueTime(rel(0, 24, 0), at, SH))).toMatch(/^delay\.hours/);
    expect(reasonOf(dueTime(rel(0, 0, -1), at, SH))).toMatch(/^delay\.minutes/);
    expect(
      reasonOf(dueTime({ 'org.openpenpal.platform.AiReplyDelayHours': { delayHours: -1 } }, at, SH)),
    ).toMatch(/^delay\.delayHours/);
    expect(reasonOf(dueTime(absolute(at - 3_600_000), at, SH))).toMatch(/^delay\.at/);
    expect(reasonOf(dueTime(absolute(at + 400 * 86_400_000), at, SH))).toMatch(/^delay\.at/);
    expect(reasonOf(dueTime(rel(365, 23, 59), at, SH))).toBe('accepted');
  });

  it('knows IANA zones from other names', () => {
    expect(isIanaZone('Asia/Shanghai')).toBe(true);
    expect(isIanaZone('Europe/Berlin')).toBe(true);
    expect(isIanaZone('Mars/Olympus_Mons')).toBe(false);
    expect(isIanaZone('')).toBe(false);
    expect(isIanaZone('+08:00')).toBe(false);
  });
});

describe('quiet hours', () => {
  const night = parseQuietHours('22:00-08:00');

  it('moves a reply due at 03:00 local to 08:00 the same morning', () => {
    expect(iso(outOfQuietHours(local('2026-03-12T03:00:00', SH), night, SH), SH)).toBe(
      '2026-03-12T08:00:00+08:00',
    );
  });

  it('moves a reply due at 23:00 local to 08:00 the next morning, and leaves a daytime one alone', () => {
    expect(iso(outOfQuietHours(local('2026-03-12T23:00:00', SH), night, SH), SH)).toBe(
      '2026-03-13T08:00:00+08:00',
    );
    const noon = local('2026-03-12T12:00:00', SH);
    expect(outOfQuietHours(noon, night, SH)).toBe(noon);
    expect(outOfQuietHours(local('2026-03-12T08:00:00', SH), night, SH)).toBe(
      local('2026-03-12T08:00:00', SH),
    );
  });

  it('handles a same-day range and a DST night', () => {
    const lunch = parseQuietHours('12:00-13:30');
    expect(iso(outOfQuietHours(local('2026-03-12T12:10:00', SH), lunch, SH), SH)).toBe(
      '2026-03-12T13:30:00+08:00',
    );
    // The night of 2026-03-07 → 08 in New York loses an hour: 08:00 is still 08:00 on the clock.
    expect(iso(outOfQuietHours(local('2026-03-07T23:30:00', NY), night, NY), NY)).toBe(
      '2026-03-08T08:00:00-04:00',
    );
  });

  it('reads no quiet hours from empty, malformed or zero-length ranges', () => {
    expect(parseQuietHours(null)).toBeUndefined();
    expect(parseQuietHours('')).toBeUndefined();
    expect(parseQuietHours('late')).toBeUndefined();
    expect(parseQuietHours('08:00-08:00')).toBeUndefined();
  });
});

describe('local day', () => {
  it('is the calendar day of the instant in the zone', () => {
    const day = localDay(local('2026-03-12T00:30:00', SH), SH);
    expect(day.start.toISOString()).toBe('2026-03-11T16:00:00.000Z');
    expect(day.end.toISOString()).toBe('2026-03-12T16:00:00.000Z');
  });
});
