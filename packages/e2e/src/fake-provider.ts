import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** `ok`: a prompt at once; `hang`: no answer until the mode changes back or the caller gives up. */
export type ProviderMode = 'ok' | 'hang';

export interface FakeProvider {
  readonly baseUrl: string;
  mode(): ProviderMode;
  /** Completions answered and calls received, since the start. */
  counts(): { answered: number; received: number };
  close(): Promise<void>;
}

const PROMPT = {
  theme: 'e2e',
  prompt: 'Write to someone about the first snow you remember.',
  style: 'warm',
  tags: ['e2e', 'snow'],
};

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

/**
 * An OpenAI-compatible chat API that the scenarios can switch from outside the process that runs
 * it (`POST /control {"mode": "hang"}`): the daily inspiration's provider, made to hang so that its
 * executions time out, then made to answer again.
 */
export async function startFakeProvider(port: number): Promise<FakeProvider> {
  let mode: ProviderMode = 'ok';
  let answered = 0;
  let received = 0;
  const hanging = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    void (async () => {
      const text = await body(request);
      if (request.method === 'POST' && request.url === '/control') {
        const next = (JSON.parse(text || '{}') as { mode?: string }).mode;
        if (next !== 'ok' && next !== 'hang') return json(response, 400, { error: 'mode: ok or hang' });
        mode = next;
        return json(response, 200, { mode });
      }
      if (request.method === 'GET' && request.url === '/control')
        return json(response, 200, { mode, answered, received });
      if (request.method === 'POST' && request.url === '/v1/chat/completions') {
        received += 1;
        if (mode === 'hang') {
          hanging.add(response);
          response.once('close', () => hanging.delete(response));
          return;
        }
        answered += 1;
        return json(response, 200, {
          id: `e2e-${received}`,
          object: 'chat.completion',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: JSON.stringify(PROMPT) },
              finish_reason: 'stop',
            },
          ],
        });
      }
      return json(response, 404, { error: 'not found' });
    })().catch((error: unknown) => json(response, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    mode: () => mode,
    counts: () => ({ answered, received }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
