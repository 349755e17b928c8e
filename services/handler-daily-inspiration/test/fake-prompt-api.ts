import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A prompt completion, a 500, a completion whose content is not the prompt shape, a body that is
 * not JSON, or a completion after 3 s (past the tests' timeout).
 */
export type FakePromptMode = 'ok' | 'error' | 'malformed' | 'broken' | 'slow';

export interface FakePromptApi {
  /** `http://127.0.0.1:<port>/v1`: the base URL to configure. */
  baseUrl: string;
  set(mode: FakePromptMode): void;
  /** Requests received and their bodies (model, messages). */
  readonly calls: number;
  readonly bodies: readonly unknown[];
  close(): Promise<void>;
}

/**
 * A stand-in for an OpenAI-compatible chat completions API, as a real HTTP server on loopback: it
 * answers `POST /v1/chat/completions` with a prompt numbered by the call, so tests can tell calls apart.
 */
export async function startFakePromptApi(mode: FakePromptMode = 'ok'): Promise<FakePromptApi> {
  let current = mode;
  const bodies: unknown[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
          response.writeHead(404).end();
          return;
        }
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        const n = bodies.length;
        if (current === 'slow') await new Promise((resolve) => setTimeout(resolve, 3_000));
        if (current === 'error') {
          response
            .writeHead(500, { 'content-type': 'application/json' })
            .end('{"error":{"message":"overloaded"}}');
          return;
        }
        if (current === 'broken') {
          response.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[');
          return;
        }
        const content =
          current === 'malformed'
            ? JSON.stringify({ theme: '', prompt: 42 })
            : '```json\n' +
              JSON.stringify({
                theme: `星空来信 ${n}`,
                prompt: `第 ${n} 号提示：给多年后的自己写一封关于今晚星空的信。`,
                style: 'dreamy',
                tags: ['stars', 'future'],
              }) +
              '\n```';
        response.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: `chatcmpl-fake-${n}`,
            object: 'chat.completion',
            choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
          }),
        );
      })().catch(() => response.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    set: (next) => {
      current = next;
    },
    get calls() {
      return bodies.length;
    },
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
