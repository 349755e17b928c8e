import { describe, expect, it } from 'vitest';
import { builtinPrompt, BUILTIN_THEMES } from '../src/push/prompts.ts';
import { localDateOf, planZones } from '../src/push/zones.ts';

const QUARTER = 15 * 60_000;
const at = (iso: string) => Date.parse(iso);
const plan = (zones: string[], nominal: number, localTime = '20:00') =>
  planZones({ zones, nominal, localTime, windowMs: QUARTER });

/** Every quarter-hour trigger from `from` to `to`: which (zone, local date) each served. */
function sweepDays(zones: string[], from: string, to: string, localTime = '20:00') {
  const served: { timezone: string; localDate: string; nominal: number; sendAt: number }[] = [];
  for (let nominal = at(from); nominal <= at(to); nominal += QUARTER) {
    for (const zone of plan(zones, nominal, localTime).due) served.push({ ...zone, nominal });
  }
  return served;
}

describe('which zones a quarter-hourly trigger serves', () => {
  it('serves Asia/Shanghai at 12:00 UTC (20:00 +08:00) and nothing else that day', () => {
    expect(plan(['Asia/Shanghai'], at('2026-03-08T12:00:00Z')).due).toEqual([
      { timezone: 'Asia/Shanghai', localDate: '2026-03-08', sendAt: at('2026-03-08T12:00:00Z') },
    ]);
    expect(plan(['Asia/Shanghai'], at('2026-03-08T11:45:00Z')).due).toEqual([]);
    expect(plan(['Asia/Shanghai'], at('2026-03-08T12:15:00Z')).due).toEqual([]);
  });

  it('follows America/New_York through the spring-forward day (20:00 EDT = 00:00 UTC next day)', () => {
    expect(plan(['America/New_York'], at('2026-03-08T01:00:00Z')).due).toEqual([
      { timezone: 'America/New_York', localDate: '2026-03-07', sendAt: at('2026-03-08T01:00:00Z') },
    ]);
    expect(plan(['America/New_York'], at('2026-03-09T00:00:00Z')).due).toEqual([
      { timezone: 'America/New_York', localDate: '2026-03-08', sendAt: at('2026-03-09T00:00:00Z') },
    ]);
    // The hour it would have been without the change serves nobody.
    expect(plan(['America/New_York'], at('2026-03-09T01:00:00Z')).due).toEqual([]);
  });

  it('follows America/New_York through the fall-back day (20:00 EST = 01:00 UTC next day)', () => {
    expect(plan(['America/New_York'], at('2026-11-01T00:00:00Z')).due[0]?.localDate).toBe('2026-10-31');
    expect(plan(['America/New_York'], at('2026-11-02T01:00:00Z')).due).toEqual([
      { timezone: 'America/New_York', localDate: '2026-11-01', sendAt: at('2026-11-02T01:00:00Z') },
    ]);
    expect(plan(['America/New_York'], at('2026-11-02T00:00:00Z')).due).toEqual([]);
  });

  it('serves every zone exactly once per local day at its 20:00 across both DST changes', () => {
    const zones = [
      'Asia/Shanghai',
      'America/New_York',
      'Europe/London',
      'Asia/Kathmandu',
      'Australia/Sydney',
    ];
    for (const [from, to] of [
      ['2026-03-05T00:00:00Z', '2026-03-12T00:00:00Z'],
      ['2026-03-27T00:00:00Z', '2026-04-07T00:00:00Z'],
      ['2026-10-22T00:00:00Z', '2026-11-05T00:00:00Z'],
    ] as const) {
      const served = sweepDays(zones, from, to);
      for (const zone of zones) {
        const days = served.filter((s) => s.timezone === zone).map((s) => s.localDate);
        expect(new Set(days).size).toBe(days.length);
        // Consecutive local days, none skipped.
        for (let i = 1; i < days.length; i += 1) {
          expect(Date.parse(`${days[i]}T00:00:00Z`) - Date.parse(`${days[i - 1]}T00:00:00Z`)).toBe(
            86_400_000,
          );
        }
        expect(days.length).toBeGreaterThanOrEqual(6);
      }
      for (const s of served) {
        const wall = new Intl.DateTimeFormat('en-GB', {
          timeZone: s.timezone,
          hour: '2-digit',
          minute: '2-digit',
          hourCycle: 'h23',
        }).format(s.sendAt);
        expect(wall).toBe('20:00');
        expect(localDateOf(s.timezone, s.sendAt)).toBe(s.localDate);
      }
    }
  });

  it('sends a skipped local time at the jump and a repeated one once (cron semantics)', () => {
    const spring = sweepDays(['America/New_York'], '2026-03-08T00:00:00Z', '2026-03-09T00:00:00Z', '02:30');
    expect(spring.map((s) => [s.localDate, new Date(s.sendAt).toISOString()])).toEqual([
      ['2026-03-08', '2026-03-08T07:00:00.000Z'],
    ]);
    const fall = sweepDays(['America/New_York'], '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '01:30');
    expect(fall.map((s) => new Date(s.sendAt).toISOString())).toEqual(['2026-11-01T05:30:00.000Z']);
  });

  it('reports zones that are not IANA with a reason and still serves the others', () => {
    const result = plan(['Mars/Olympus', '+08:00', 'Asia/Shanghai'], at('2026-03-08T12:00:00Z'));
    expect(result.due.map((z) => z.timezone)).toEqual(['Asia/Shanghai']);
    expect(result.invalid.map((z) => z.timezone)).toEqual(['Mars/Olympus', '+08:00']);
    expect(result.invalid[0]?.reason).toMatch(/not an IANA time zone/);
    expect(result.invalid[1]?.reason).toMatch(/UTC offset/);
  });
});

describe('the built-in prompts', () => {
  it('turn through the five themes day by day and stay the same on a re-run', () => {
    const themes = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05'].map(
      (day) => builtinPrompt(day, 'u1', 'zh-CN').key,
    );
    expect(new Set(themes)).toEqual(new Set(BUILTIN_THEMES));
    expect(builtinPrompt('2026-03-06', 'u1', 'zh-CN')).toEqual(builtinPrompt('2026-03-06', 'u1', 'zh-CN'));
    expect(builtinPrompt('2026-03-06', 'u1', 'zh-CN').key).toBe(
      builtinPrompt('2026-03-01', 'u1', 'zh-CN').key,
    );
  });

  it('speak the language of the user', () => {
    const zh = builtinPrompt('2026-03-06', 'u1', 'zh-CN');
    const en = builtinPrompt('2026-03-06', 'u1', 'en-US');
    expect(zh.key).toBe(en.key);
    expect(zh.prompt).toMatch(/[\u4e00-\u9fff]/);
    expect(en.prompt).toMatch(/^[\x20-\x7e]+$/);
  });
});
