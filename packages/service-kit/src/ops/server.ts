import type { FastifyInstance } from 'fastify';

export interface OpsServer {
  app: FastifyInstance;
  /** The address it listens on (port 0 picks a free one). */
  url(): string;
  /** Stops listening after in-flight requests finish; safe to call twice. */
  close(): Promise<void>;
}

/** Listens with an app built apart (`buildOpsApp`, or the admin API's app). */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<OpsServer> {
  await app.listen({ host, port });
  let closing: Promise<void> | undefined;
  return {
    app,
    url: () => {
      const address = app.server.address();
      return typeof address === 'object' && address ? `http://${host}:${address.port}` : '';
    },
    close: () => (closing ??= app.close()),
  };
}
