import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the fake answers: a completion, a 500, a 200 whose body is not JSON, a completion with no
 * content, or a completion after `slowMs` (past any sensible timeout). `delayMs` delays every answer.
 */
export type FakeChatMode = 'ok' | 'error' | 'malformed' | 'empty' | 'slow';

export interface FakeChatApi {
  /** `http://127.0.0.1:<port>/v1`: the base URL to configure. */
  baseUrl: string;
  set(behaviour: { mode?: FakeChatMode; delayMs?: number }): void;
  /** The modes of the next calls, one per call, before `mode` applies again. */
  plan(modes: readonly FakeChatMode[]): void;
  /** Requests received, and the last request's body (model, messages). */
  readonly calls: number;
  readonly lastBody: unknown;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A stand-in for an OpenAI-compatible chat completions API, as a real HTTP server on loopback
 * (tests, the benchmark and the local demo). It answers `POST /v1/chat/completions` in the
 * persona's voice as the system prompt describes it, quoting nothing of the letter.
 */
export async function startFakeChatApi(
  options: { port?: number; mode?: FakeChatMode; delayMs?: number; slowMs?: number } = {},
): Promise<FakeChatApi> {
  let mode: FakeChatMode = options.mode ?? 'ok';
  let planned: FakeChatMode[] = [];
  let delayMs = options.delayMs ?? 0;
  let calls = 0;
  let lastBody: unknown;
  const server: Server = createServer((request, response) => {
    void (async () => {
      const text = await readBody(request);
      if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      calls += 1;
      try {
        lastBody = JSON.parse(text);
      } catch {
        lastBody = text;
      }
      const answer = planned.shift() ?? mode;
      const wait = answer === 'slow' ? (options.slowMs ?? 10_000) : delayMs;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (answer === 'error') {
        response
          .writeHead(500, { 'content-type': 'application/json' })
          .end('{"error":{"message":"upstream overloaded"}}');
        return;
      }
      if (answer === 'malformed') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[{"message":');
        return;
      }
      const model = (lastBody as { model?: string }).model ?? 'fake';
      const system = (lastBody as { messages?: { content?: string }[] }).messages?.[0]?.content ?? '';
      const voice = /You are an? ([a-z ]+?):/.exec(system)?.[1] ?? 'pen pal';
      const content =
        answer === 'empty'
          ? ''
          : `Dear friend,\n\nThank you for your letter. As your ${voice}, I read it twice.\n\nWarmly`;
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-fake-${calls}`,
          object: 'chat.completion',
          model,
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
        }),
      );
    })().catch(() => response.destroy());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    set: (behaviour) => {
      mode = behaviour.mode ?? mode;
      delayMs = behaviour.delayMs ?? delayMs;
    },
    plan: (modes) => {
      planned = [...modes];
    },
    get calls() {
      return calls;
    },
    get lastBody() {
      return lastBody;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
