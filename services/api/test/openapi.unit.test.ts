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
});
