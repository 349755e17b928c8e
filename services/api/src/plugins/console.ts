import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/** Where `pnpm console:build` (vite) writes the operator console. */
const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist', import.meta.url));

/**
 * The operator console's built files under /console/ (public: the page holds no data; every call it
 * makes carries the operator's bearer token and goes through the API's auth). When the console has
 * not been built, /console/ answers 404 with how to build it.
 */
export const consolePlugin: FastifyPluginAsync<{ root?: string }> = async (app, { root = CONSOLE_DIST }) => {
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/console', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply.code(404).type('text/plain').send('the console is not built: run `pnpm console:build`'),
    );
    return;
  }
  // The server ignores trailing slashes, so /console and /console/ are this one route: the page.
  app.get('/console', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await readFile(join(root, 'index.html'))),
  );
  await app.register(fastifyStatic, {
    root,
    prefix: '/console/',
    index: false,
    decorateReply: false,
    schemaHide: true,
    // The bundle's file names carry a content hash; index.html must be read again each time.
    setHeaders: (reply, path) => {
      void reply.header(
        'cache-control',
        path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
      );
    },
  });
};
