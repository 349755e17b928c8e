import type { JsonObject } from '@openpenpal/event-store';

/**
 * Metadata field listing the top-level fields of an event's data and metadata whose text had NUL
 * characters escaped: `{ data: ['message_id'], metadata: ['key'] }`. Absent when nothing was escaped.
 */
export const NUL_ESCAPED = 'nul_escaped';

const NUL = '\u0000';

/** `%` → `%25`, NUL → `%00`: reversible, and only applied to text that holds a NUL. */
const escapeText = (text: string): string => text.replaceAll('%', '%25').replaceAll(NUL, '%00');
const unescapeText = (text: string): string =>
  text.replace(/%(25|00)/g, (_, code: string) => (code === '25' ? '%' : NUL));

function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes(NUL);
  if (Array.isArray(value)) return value.some(holdsNul);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(holdsNul);
  return false;
}

function mapText(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => mapText(item, map));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapText(item, map)]));
  }
  return value;
}

function escapeFields(object: JsonObject): { value: JsonObject; escaped: string[] } {
  const escaped = Object.keys(object).filter((field) => holdsNul(object[field]));
  if (escaped.length === 0) return { value: object, escaped };
  const value: Record<string, unknown> = { ...object };
  for (const field of escaped) value[field] = mapText(object[field], escapeText);
  return { value, escaped };
}

/**
 * Data and metadata without NUL characters, which PostgreSQL cannot keep in text or jsonb: each
 * top-level field holding one has all its text escaped (`%` → `%25`, NUL → `%00`) and is listed under
 * `nul_escaped` in the metadata, so that `restoreNul` gives the original back. An event without a NUL
 * is returned as it is.
 */
export function escapeNul(
  data: JsonObject,
  metadata: JsonObject,
): { data: JsonObject; metadata: JsonObject } {
  const escapedData = escapeFields(data);
  const escapedMetadata = escapeFields(metadata);
  if (escapedData.escaped.length === 0 && escapedMetadata.escaped.length === 0) return { data, metadata };
  return {
    data: escapedData.value,
    metadata: {
      ...escapedMetadata.value,
      [NUL_ESCAPED]: { data: escapedData.escaped, metadata: escapedMetadata.escaped },
    },
  };
}

/** The data as it was before `escapeNul`, read from the event's `nul_escaped` metadata. */
export function restoreNul(data: JsonObject, metadata: JsonObject): JsonObject {
  const listed = (metadata[NUL_ESCAPED] as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(listed) || listed.length === 0) return data;
  const restored: Record<string, unknown> = { ...data };
  for (const field of listed) {
    if (typeof field === 'string' && field in restored)
      restored[field] = mapText(restored[field], unescapeText);
  }
  return restored;
}
