import { createServer, type ServerResponse } from 'node:http';
import type { System } from './system.ts';

export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

function json(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

/**
 * The supervisor over HTTP on loopback, for scenarios (which run in test workers, not in the
 * process that started the system): `GET /processes` lists every process with its readiness and
 * exits; `POST /processes/<name>/kill` SIGKILLs it, `/start` starts it, `/restart` does both and
 * answers once it is ready again. A fault is only ever injected into the system's own processes.
 */
export async function startControlServer(system: System, port = 0): Promise<ControlServer> {
  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (request.method === 'GET' && url.pathname === '/processes') {
        return json(
          response,
          200,
          [...system.processes.values()].map((proc) => ({
            name: proc.name,
            running: proc.running,
            ready: proc.readiness.at(-1)?.state === 'ready',
            readiness: proc.readiness,
            exits: proc.exits.map(({ lastLines: _lastLines, ...exit }) => exit),
          })),
        );
      }
      const action = /^\/processes\/([\w-]+)\/(kill|start|restart)$/.exec(url.pathname);
      if (request.method === 'POST' && action) {
        const proc = system.processes.get(action[1] ?? '');
        if (!proc) return json(response, 404, { error: `no process ${action[1]}` });
        if (action[2] === 'kill') return json(response, 200, { killed_at: await proc.kill() });
        if (action[2] === 'start') return json(response, 200, { started_at: proc.start() });
        const killedAt = await proc.kill();
        const startedAt = proc.start();
        const readyAt = await proc.waitReady(120_000);
        return json(response, 200, { killed_at: killedAt, started_at: startedAt, ready_at: readyAt });
      }
      return json(response, 404, { error: 'not found' });
    })().catch((error: unknown) => json(response, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
