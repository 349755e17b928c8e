// Writes docs/openapi.json from the routes' schemas (pnpm api:openapi).
import { writeFile } from 'node:fs/promises';
import { openApiText } from '../openapi.ts';

const target = new URL('../../../../docs/openapi.json', import.meta.url);
await writeFile(target, await openApiText());
process.stdout.write(`wrote ${target.pathname}\n`);
