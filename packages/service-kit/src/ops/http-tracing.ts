import {
  ATTR,
  SpanKind,
  beginSpan,
  extractHttpContext,
  hasSpanContext,
  SpanStatusCode,
  isTracingEnabled,
  toException,
  withContext,
  type Span,
} from '@openpenpal/telemetry';
import type { FastifyPluginCallback, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';

export interface HttpTracingOptions {
  /**
   * Routes served without a span unless the caller sends a trace context: probes and scrapes
   * (`/healthz`, `/readyz`, `/metrics` by default) would otherwise start a trace every few seconds.
   */
  untracedRoots?: readonly string[];
}

const OPS_ROUTES = ['/healthz', '/readyz', '/metrics'];

interface Traced {
  span: Span;
  ended: boolean;
}

/**
 * HTTP server spans (OpenTelemetry HTTP conventions) for every route of the app: span
 * `<METHOD> <route>` of kind SERVER, the child of the caller's `traceparent` when there is one,
 * with `http.request.method`, `http.route`, `url.path`, `url.scheme`, `client.address`,
 * `user_agent.original`, `http.response.status_code`, and status ERROR with `error.type` on a 5xx.
 * Each route handler runs inside its request's span, so what it does (a Kafka publish, an event
 * store read) is its child. Registered first, with fastify-plugin, so its hooks cover the whole app. Without a tracing SDK it adds nothing but one check per request.
 */
const plugin: FastifyPluginCallback<HttpTracingOptions> = (app, options, done) => {
  const untracedRoots = new Set(options.untracedRoots ?? OPS_ROUTES);
  const requests = new WeakMap<FastifyRequest, Traced>();

  const finish = (request: FastifyRequest, statusCode: number | undefined, errorType?: string) => {
    const traced = requests.get(request);
    if (!traced || traced.ended) return;
    traced.ended = true;
    const { span } = traced;
    if (statusCode !== undefined) span.setAttribute(ATTR.httpStatusCode, statusCode);
    const error =
      errorType ?? (statusCode !== undefined && statusCode >= 500 ? String(statusCode) : undefined);
    if (error !== undefined) {
      span.setAttribute(ATTR.errorType, error);
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  };

  app.addHook('onRequest', (request, _reply, next) => {
    if (!isTracingEnabled()) return next();
    const route = request.routeOptions.url;
    const parent = extractHttpContext(request.headers);
    if (route !== undefined && untracedRoots.has(route) && !hasSpanContext(parent)) return next();
    const userAgent = request.headers['user-agent'];
    const { span, context } = beginSpan(route === undefined ? request.method : `${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      parent,
      attributes: {
        [ATTR.httpMethod]: request.method,
        [ATTR.urlPath]: request.url.split('?')[0] ?? request.url,
        [ATTR.urlScheme]: request.protocol,
        [ATTR.clientAddress]: request.ip,
        ...(route === undefined ? {} : { [ATTR.httpRoute]: route }),
        ...(userAgent === undefined ? {} : { [ATTR.userAgent]: userAgent }),
      },
    });
    requests.set(request, { span, ended: false });
    // Everything after this hook (body parsing, the handler) runs in this context: Node carries it
    // across the socket events of a body that arrives later (the unit test sends one).
    withContext(context, next);
  });

  app.addHook('onError', (request, _reply, error, next) => {
    const traced = requests.get(request);
    // The status follows the response code (a 4xx is the caller's error, not the server's).
    if (traced) traced.span.recordException(toException(error));
    next();
  });
  app.addHook('onResponse', (request, reply, next) => {
    finish(request, reply.statusCode);
    next();
  });
  app.addHook('onRequestAbort', (request, next) => {
    finish(request, undefined, 'aborted');
    next();
  });
  app.addHook('onTimeout', (request, _reply, next) => {
    finish(request, undefined, 'timeout');
    next();
  });
  done();
};

/** Registered before the routes, on the app that serves them (the hooks apply to the whole app). */
export const httpTracing = fastifyPlugin(plugin, { name: 'openpenpal-http-tracing' });
