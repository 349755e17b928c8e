import { readFile } from 'node:fs/promises';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { openApiDocument, openApiText } from '../src/openapi.ts';

const committed = new URL('../../../docs/openapi.json', import.meta.url);

describe('OpenAPI document', () => {
  it('docs/openapi.json is what the routes generate (run pnpm api:openapi after changing a route)', async () => {
    expect(await readFile(committed, 'utf8')).toBe(await openApiText());
  });

  it('validates with an independent OpenAPI validator', async () => {
    const document = await openApiDocument();
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
  });

  it('documents every route with a request or response schema, security and the error shape', async () => {
    const document = (await openApiDocument()) as {
      paths: Record<string, Record<string, { responses?: Record<string, unknown>; security?: unknown[] }>>;
    };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).toBeGreaterThan(30);
    for (const { path, method, operation } of operations) {
      expect(Object.keys(operation.responses ?? {}), `${method} ${path}`).not.toHaveLength(0);
      if (!['/healthz', '/readyz', '/metrics'].includes(path)) {
        expect(operation.security, `${method} ${path}`).toBeDefined();
        expect(operation.responses?.['401'], `${method} ${path}`).toBeDefined();
      }
    }
  });

  it('gives an example for every route: of its request body or of its success answer', async () => {
    interface Schema {
      example?: unknown;
      $ref?: string;
    }
    interface Operation {
      requestBody?: { content: Record<string, { schema: Schema }> };
      responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
    }
    const document = (await openApiDocument()) as {
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, Schema> };
    };
    const resolve = (schema: Schema | undefined): Schema | undefined =>
      schema?.$ref === undefined ? schema : document.components.schemas[schema.$ref.split('/').at(-1) ?? ''];
    const missing: string[] = [];
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const schemas = [
          ...Object.values(operation.requestBody?.content ?? {}).map((c) => c.schema),
          ...Object.entries(operation.responses)
            .filter(([status]) => status.startsWith('2'))
            .flatMap(([, answer]) => Object.values(answer.content ?? {}).map((c) => c.schema)),
        ];
        if (!schemas.some((schema) => resolve(schema)?.example !== undefined))
          missing.push(`${method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
