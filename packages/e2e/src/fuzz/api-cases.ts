import { randomUUID } from 'node:crypto';

/** The parts of an OpenAPI 3 document the fuzzer reads. */
interface Schema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  anyOf?: Schema[];
  allOf?: Schema[];
  nullable?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: unknown;
  maxLength?: number;
  example?: unknown;
}

interface Operation {
  parameters?: { in: string; name: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema?: Schema; example?: unknown }> };
  security?: Record<string, unknown>[];
  responses?: Record<string, unknown>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

/**
 * What an answer must be. `invalid`: a request that breaks the documented contract — any 4xx but
 * 401/403 (the caller is an admin), never 2xx or 5xx. `unknown`: a well-formed request for an id
 * that does not exist — 404 where the route documents a 404, else anything but a 5xx (a route that
 * only relays an event accepts it; its consumer refuses it). `unauthenticated` / `forbidden`: 401 / 403.
 */
type Expectation = 'invalid' | 'unknown' | 'unknown-404' | 'unauthenticated' | 'forbidden';

export interface ApiCase {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  expect: Expectation;
  /** The field a validation error should name, when the case broke one field. */
  field?: string;
}

/** Signs a raw body as the event routes require (docs/api.md: X-Signature over `<ts>.<body>`). */
export type EventSigner = (body: string, timestampSeconds?: number) => Record<string, string>;

export interface Tokens {
  admin: string;
  /** A valid token without the admin role. */
  user: string;
  /** Signed with another secret. */
  forged: string;
  expired: string;
}

/** Bigger than any route's body limit (the API's default is 1 MiB). */
const HUGE_BYTES = 3 * 1024 * 1024;

function resolve(doc: OpenApiDocument, schema: Schema | undefined): Schema | undefined {
  if (!schema) return undefined;
  if (schema.$ref) return resolve(doc, doc.components?.schemas?.[schema.$ref.split('/').at(-1) ?? '']);
  if (schema.allOf?.length === 1) return resolve(doc, schema.allOf[0]);
  return schema;
}

/** The JSON types a schema accepts (every branch of an anyOf). */
function acceptedTypes(doc: OpenApiDocument, schema: Schema): Set<string> {
  const resolved = resolve(doc, schema) ?? {};
  if (resolved.anyOf) return new Set(resolved.anyOf.flatMap((branch) => [...acceptedTypes(doc, branch)]));
  const types = new Set<string>();
  if (resolved.type) types.add(resolved.type === 'integer' ? 'number' : resolved.type);
  else if (resolved.enum) for (const value of resolved.enum) types.add(typeof value);
  if (resolved.nullable) types.add('null');
  return types;
}

/** A value of a JSON type the schema does not accept, or undefined when it accepts them all. */
function wrongTypeValue(doc: OpenApiDocument, schema: Schema): unknown {
  const accepted = acceptedTypes(doc, schema);
  if (accepted.size === 0) return undefined;
  const candidates: [string, unknown][] = [
    ['string', 'not-what-you-expect'],
    ['number', 123456789],
    ['boolean', true],
    ['object', { nested: ['value'] }],
    ['array', [1, 'two', null]],
  ];
  return candidates.find(([type]) => !accepted.has(type))?.[1];
}

/** Values of the right type that no sane contract accepts, by field name. */
function nonsenseValues(field: string): unknown[] {
  const name = field.toLowerCase();
  if (name.includes('cron')) return ['61 * * * *', '* * *', '*/0 * * * *', 'every minute'];
  if (name.includes('timezone') || name === 'zone') return ['Mars/Olympus_Mons', 'UTC+99', ''];
  if (name.endsWith('_at') || name.includes('date') || name.includes('time'))
    return ['2026-13-45T25:61:00Z', 'yesterday', -8.64e15, 1e300];
  if (name.endsWith('_id') || name === 'id') return ['', 'x'.repeat(10_000), 'line\nbreak\u0000nul'];
  return [];
}

function baseBody(doc: OpenApiDocument, operation: Operation): Record<string, unknown> | undefined {
  const content = operation.requestBody?.content['application/json'];
  if (!content) return undefined;
  const schema = resolve(doc, content.schema);
  const example = content.example ?? content.schema?.example ?? schema?.example;
  return example && typeof example === 'object' && !Array.isArray(example)
    ? (example as Record<string, unknown>)
    : {};
}

function bodyCases(doc: OpenApiDocument, operation: Operation, make: CaseMaker): ApiCase[] {
  const base = baseBody(doc, operation);
  if (base === undefined) return [];
  const schema = resolve(doc, operation.requestBody?.content['application/json']?.schema) ?? {};
  const cases: ApiCase[] = [
    make('invalid JSON', '{"name": "unfinished', 'invalid'),
    make('a JSON array instead of an object', '[1, 2, 3]', 'invalid'),
    make('a JSON string instead of an object', '"text"', 'invalid'),
    make(
      `a ${HUGE_BYTES / 1024 / 1024} MiB body`,
      JSON.stringify({ ...base, pad: 'x'.repeat(HUGE_BYTES) }),
      'invalid',
    ),
  ];
  if (schema.additionalProperties === false) {
    cases.push(
      make(
        'an unknown field',
        JSON.stringify({ ...base, surely_unknown_field: 1 }),
        'invalid',
        'surely_unknown_field',
      ),
    );
  }
  for (const field of schema.required ?? []) {
    const { [field]: _dropped, ...rest } = base;
    cases.push(make(`without the required ${field}`, JSON.stringify(rest), 'invalid', field));
  }
  for (const [field, property] of Object.entries(schema.properties ?? {})) {
    const wrong = wrongTypeValue(doc, property);
    if (wrong !== undefined) {
      cases.push(
        make(`${field} of the wrong type`, JSON.stringify({ ...base, [field]: wrong }), 'invalid', field),
      );
    }
    const resolved = resolve(doc, property) ?? {};
    if (resolved.maxLength !== undefined && acceptedTypes(doc, property).has('string')) {
      const tooLong = 'y'.repeat(resolved.maxLength + 1);
      cases.push(
        make(`${field} over its maxLength`, JSON.stringify({ ...base, [field]: tooLong }), 'invalid', field),
      );
    }
    if (resolved.enum) {
      cases.push(
        make(
          `${field} outside its enum`,
          JSON.stringify({ ...base, [field]: 'no-such-value' }),
          'invalid',
          field,
        ),
      );
    }
    for (const value of nonsenseValues(field)) {
      if (!acceptedTypes(doc, property).has(typeof value)) continue;
      cases.push(
        make(
          `${field} = ${JSON.stringify(value).slice(0, 40)}`,
          JSON.stringify({ ...base, [field]: value }),
          'invalid',
          field,
        ),
      );
    }
  }
  return cases;
}

function queryCases(
  doc: OpenApiDocument,
  operation: Operation,
): { name: string; query: string; field: string }[] {
  const cases: { name: string; query: string; field: string }[] = [];
  for (const parameter of operation.parameters ?? []) {
    if (parameter.in !== 'query') continue;
    const schema = resolve(doc, parameter.schema) ?? {};
    const values: string[] = [];
    if (schema.enum) values.push('no-such-value');
    else if (schema.type === 'integer' || schema.type === 'number')
      values.push('abc', '-5', '1e400', '99999999999');
    else if (parameter.name === 'from' || parameter.name === 'to')
      values.push('yesterday', '2026-02-30T00:00:00Z');
    else if (parameter.name === 'cursor') values.push('not-a-cursor', '%00%ff');
    for (const value of values) {
      cases.push({
        name: `query ${parameter.name}=${value}`,
        query: `${parameter.name}=${encodeURIComponent(value)}`,
        field: parameter.name,
      });
    }
  }
  return cases;
}

type CaseMaker = (name: string, body: string | undefined, expect: Expectation, field?: string) => ApiCase;

/** Every case for every route of the document that needs authentication or a signature. */
export function apiFuzzCases(doc: OpenApiDocument, tokens: Tokens, sign: EventSigner): ApiCase[] {
  const cases: ApiCase[] = [];
  for (const [template, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!operation.security || operation.security.length === 0) continue;
      const signed = operation.security.some((scheme) => 'eventSignature' in scheme);
      const upper = method.toUpperCase();
      const known = template.replace(/\{[^}]+\}/g, () => `fuzz-${randomUUID()}`);
      const route = `${upper} ${template}`;
      const validBody = operation.requestBody ? JSON.stringify(baseBody(doc, operation)) : undefined;
      /** The credentials of a caller who may use the route: an admin token, or a fresh signature. */
      const credentials = (body: string | undefined): Record<string, string> =>
        signed ? sign(body ?? '') : { authorization: `Bearer ${tokens.admin}` };
      const make: CaseMaker = (name, body, expect, field) => ({
        name: `${route}: ${name}`,
        method: upper,
        path: known,
        headers: {
          ...credentials(body),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body }),
        expect,
        ...(field === undefined ? {} : { field }),
      });
      const refused = (name: string, headers: Record<string, string>, expect: Expectation): ApiCase => ({
        name: `${route}: ${name}`,
        method: upper,
        path: known,
        headers: { ...headers, ...(validBody === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(validBody === undefined ? {} : { body: validBody }),
        expect,
      });
      if (signed) {
        const good = sign(validBody ?? '');
        cases.push(
          refused('no signature', {}, 'unauthenticated'),
          refused('a signature of other bytes', sign(`${validBody ?? ''} `), 'unauthenticated'),
          refused(
            'a signature an hour old',
            sign(validBody ?? '', Math.floor(Date.now() / 1000) - 3_600),
            'unauthenticated',
          ),
          refused('a malformed signature', { ...good, 'x-signature': 'sha256=zz' }, 'unauthenticated'),
        );
      } else {
        const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
        cases.push(
          refused('no credentials', {}, 'unauthenticated'),
          refused('a token signed with another secret', bearer(tokens.forged), 'unauthenticated'),
          refused('an expired token', bearer(tokens.expired), 'unauthenticated'),
          refused('a garbage token', bearer('not.a.jwt'), 'unauthenticated'),
          refused('a valid token without the admin role', bearer(tokens.user), 'forbidden'),
        );
      }
      cases.push(...bodyCases(doc, operation, make));
      for (const query of queryCases(doc, operation)) {
        cases.push({
          ...make(query.name, validBody, 'invalid', query.field),
          path: `${known}?${query.query}`,
        });
      }
      if (template.includes('{')) {
        const unknown: Expectation = operation.responses?.['404'] === undefined ? 'unknown' : 'unknown-404';
        cases.push(make('an id that does not exist', validBody, unknown));
        for (const [name, id] of [
          ['an id of 5,000 characters', 'z'.repeat(5_000)],
          ['an id with control characters', '%00%1b%0a'],
        ] as const) {
          cases.push({ ...make(name, validBody, 'invalid'), path: template.replace(/\{[^}]+\}/g, id) });
        }
      }
    }
  }
  return cases;
}
