import { describe, expect, it } from 'vitest';
import { LOCALES, TEMPLATES, type DeliverableType } from '../src/templates/catalog.ts';
import { maskCode, render, resolveLocale } from '../src/templates/render.ts';

const complete: Record<DeliverableType, Record<string, string>> = {
  future_letter_unlocked: { sender_name: 'Lin' },
  ai_reply_received: { persona: 'poet' },
  courier_timeout_reminder: { letter_code: 'OP1234567890', timeout_hours: '48' },
  task_reassigned: { role: 'new', letter_code: 'OP1234567890' },
  task_reassignment_needed: { zone_code: 'BJ-01', letter_code: 'OP1234567890' },
  letter_cleanup_notice: { deletion_date: '2026-12-01' },
  daily_inspiration: { theme: '家的温度', prompt: 'Write about a kitchen', style: 'warm' },
  task_failed_alert: {
    task_name: 'Letter Status Cleanup',
    task_type: 'letter_cleanup',
    error_code: 'TIMEOUT',
  },
};

describe('templates', () => {
  it('renders every type in both languages with no placeholder left', () => {
    for (const type of Object.keys(TEMPLATES) as DeliverableType[]) {
      for (const locale of LOCALES) {
        const { title, body } = render(type, complete[type], locale);
        expect(title.length, `${type} ${locale}`).toBeGreaterThan(0);
        expect(`${title}${body}`).not.toMatch(/\{\{|\}\}/);
      }
    }
  });

  it('never shows a full letter code or data the template does not name', () => {
    const { body } = render(
      'courier_timeout_reminder',
      { letter_code: 'OP1234567890', content: 'Dear friend, secret' },
      'en',
    );
    expect(body).toContain('********7890');
    expect(body).not.toContain('OP1234567890');
    expect(body).not.toContain('secret');
    expect(maskCode('AB')).toBe('****AB');
  });

  it('leaves out optional parts whose variable is missing', () => {
    expect(render('future_letter_unlocked', {}, 'en').body).toBe(
      'A future letter has reached its opening time. Open OpenPenPal to read it.',
    );
  });

  it('refuses a missing required variable, an unknown persona and a malformed date, naming the field', () => {
    expect(() => render('daily_inspiration', { theme: 'x' }, 'en')).toThrow(/data\.prompt is required/);
    expect(() => render('ai_reply_received', { persona: 'pirate' }, 'en')).toThrow(
      /data\.persona must be one of/,
    );
    expect(() => render('letter_cleanup_notice', { deletion_date: '01/12/2026' }, 'zh-CN')).toThrow(
      /data\.deletion_date/,
    );
  });

  it('resolves language tags to zh-CN or en, else the default', () => {
    expect(resolveLocale('zh-TW', 'en')).toBe('zh-CN');
    expect(resolveLocale('en-GB', 'zh-CN')).toBe('en');
    expect(resolveLocale('fr', 'en')).toBe('en');
    expect(resolveLocale(null, 'zh-CN')).toBe('zh-CN');
  });
});
