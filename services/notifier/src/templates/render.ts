import { SchedulerError } from '@openpenpal/errors';
import {
  LOCALES,
  PERSONA_NAMES,
  TEMPLATES,
  type DeliverableType,
  type Locale,
  type VariableSpec,
} from './catalog.ts';

export interface Rendered {
  title: string;
  body: string;
  locale: Locale;
}

const MAX_TEXT = 80;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function invalid(message: string, field: string): SchedulerError {
  return new SchedulerError('VALIDATION_FAILED', message, { details: { field } });
}

export function isDeliverableType(type: string): type is DeliverableType {
  return Object.hasOwn(TEMPLATES, type);
}

/** zh-CN for any Chinese tag, en for any English one, else the default. */
export function resolveLocale(wanted: string | null | undefined, fallback: Locale): Locale {
  const tag = (wanted ?? '').trim().toLowerCase();
  if (tag.startsWith('zh')) return 'zh-CN';
  if (tag.startsWith('en')) return 'en';
  return LOCALES.includes(fallback) ? fallback : 'zh-CN';
}

/** Masks all but the last 4 characters, so a code never travels whole. */
export function maskCode(code: string): string {
  const trimmed = code.trim();
  const visible = trimmed.slice(-4);
  return `${'*'.repeat(Math.max(4, trimmed.length - visible.length))}${visible}`;
}

function display(name: string, spec: VariableSpec, raw: string, locale: Locale): string {
  const value = raw.trim();
  switch (spec.kind) {
    case 'code':
      return maskCode(value);
    case 'date': {
      if (!ISO_DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
        throw invalid(`data.${name} must be a date (YYYY-MM-DD), got ${JSON.stringify(raw)}`, `data.${name}`);
      }
      return value;
    }
    case 'persona': {
      const persona = PERSONA_NAMES[value];
      if (!persona) {
        throw invalid(
          `data.${name} must be one of ${Object.keys(PERSONA_NAMES).join(', ')}, got ${JSON.stringify(raw)}`,
          `data.${name}`,
        );
      }
      return persona[locale];
    }
    case 'text':
      return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT - 1)}…` : value;
  }
}

/**
 * Checks `data` against the type's variables (a required one missing or a malformed value is
 * VALIDATION_FAILED naming `data.<name>`) and returns the values as shown.
 */
function templateValues(
  type: DeliverableType,
  data: Readonly<Record<string, string>>,
  locale: Locale,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(TEMPLATES[type].variables)) {
    const raw = Object.hasOwn(data, name) ? data[name] : undefined;
    if (raw === undefined || raw.trim() === '') {
      if (spec.required) throw invalid(`data.${name} is required for ${type}`, `data.${name}`);
      continue;
    }
    values[name] = display(name, spec, raw, locale);
  }
  return values;
}

const CONDITIONAL = /\{\{(\w+)\?((?:[^{}]|\{\{\w+\}\})*)\}\}/g;
const VARIABLE = /\{\{(\w+)\}\}/g;

function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template
    .replace(CONDITIONAL, (_all, name: string, inner: string) => (values[name] ? inner : ''))
    .replace(VARIABLE, (_all, name: string) => values[name] ?? '');
}

/** Title and body of a notification in its language. */
export function render(
  type: DeliverableType,
  data: Readonly<Record<string, string>>,
  locale: Locale,
): Rendered {
  const values = templateValues(type, data, locale);
  const text = TEMPLATES[type].text[locale];
  return { title: fill(text.title, values), body: fill(text.body, values), locale };
}
