import { timingSafeEqual } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import { SchedulerError } from '@openpenpal/errors';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { hashServiceKey, type ApiConfig } from '../config.ts';

/**
 * Who may call a route. `read`/`write`: a bearer JWT whose `role` is one of the platform's roles
 * below. `service`: a service API key (`X-Api-Key`), or an admin JWT. `signed`: the route checks an
 * HMAC signature itself. `public`: health, metrics and the docs.
 */
export type Access = 'public' | 'read' | 'write' | 'service' | 'signed';

const WRITE_ROLES = ['platform_admin', 'super_admin'] as const;
const READ_ROLES = [...WRITE_ROLES, 'courier_level3', 'courier_level4'] as const;

interface Principal {
  kind: 'user' | 'service' | 'signed';
  /** The user id (`sub` or `user_id` claim), the service name, or the signing key's name. */
  id: string;
  role: string | null;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

interface Claims {
  sub?: unknown;
  user_id?: unknown;
  role?: unknown;
}

const unauthenticated = (why: string) =>
  new SchedulerError('UNAUTHENTICATED', `authentication required: ${why}`, { details: {} });

function claimText(value: unknown): string | null {
  if (typeof value === 'string' && value.trim() !== '' && value.length <= 200) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return null;
}

/** A service key by constant-time comparison of its SHA-256 with every configured hash. */
function serviceOf(config: ApiConfig, key: string): string | undefined {
  const given = Buffer.from(hashServiceKey(key), 'hex');
  let match: string | undefined;
  for (const entry of config.API_SERVICE_KEYS) {
    if (timingSafeEqual(given, Buffer.from(entry.hash, 'hex'))) match ??= entry.name;
  }
  return match;
}

/**
 * Authentication and roles, enforced per route from its `config.access` (a route without one is
 * refused at registration). Bearer JWTs are HS256 with a shared secret or RS256 with a public key,
 * from config; the algorithm is pinned, so a token signed otherwise is refused.
 */
const auth: FastifyPluginAsync<{ config: ApiConfig }> = async (app, { config }) => {
  await app.register(fastifyJwt, {
    secret:
      config.API_JWT_ALGORITHM === 'HS256'
        ? (config.API_JWT_SECRET ?? '')
        : { public: config.API_JWT_PUBLIC_KEY ?? '', private: '' },
    verify: {
      algorithms: [config.API_JWT_ALGORITHM],
      ...(config.API_JWT_ISSUER ? { allowedIss: config.API_JWT_ISSUER } : {}),
      ...(config.API_JWT_AUDIENCE ? { allowedAud: config.API_JWT_AUDIENCE } : {}),
    },
  });
  app.decorateRequest('principal', null);

  const userOf = async (request: FastifyRequest): Promise<Principal> => {
    if (!request.headers.authorization) throw unauthenticated('a bearer token');
    let claims: Claims;
    try {
      claims = await request.jwtVerify<Claims>();
    } catch {
      throw unauthenticated('the bearer token is invalid or expired');
    }
    const id = claimText(claims.sub) ?? claimText(claims.user_id);
    if (id === null) throw unauthenticated('the token names no user (sub or user_id)');
    return { kind: 'user', id, role: typeof claims.role === 'string' ? claims.role : null };
  };

  const requireRole = (principal: Principal, roles: readonly string[]) => {
    if (principal.role === null || !roles.includes(principal.role)) {
      throw new SchedulerError('FORBIDDEN', `this route needs one of the roles ${roles.join(', ')}`, {
        details: { role: principal.role, allowed: roles },
      });
    }
  };

  app.addHook('onRoute', (route) => {
    if (route.config?.access === undefined) {
      throw new Error(`route ${route.method.toString()} ${route.url} declares no access`);
    }
  });

  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (access === undefined || access === 'public' || access === 'signed') return;
    if (access === 'service') {
      const key = request.headers['x-api-key'];
      if (typeof key === 'string' && key !== '') {
        const service = serviceOf(config, key);
        if (service === undefined) throw unauthenticated('the API key is not known');
        request.principal = { kind: 'service', id: service, role: null };
        return;
      }
      const user = await userOf(request);
      requireRole(user, WRITE_ROLES);
      request.principal = user;
      return;
    }
    const user = await userOf(request);
    requireRole(user, access === 'write' ? WRITE_ROLES : READ_ROLES);
    request.principal = user;
  });
};

export const authPlugin = fastifyPlugin(auth, { name: 'openpenpal-api-auth' });

/** The actor recorded on events: who asked, by kind. */
export function actorOf(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal === null) throw new SchedulerError('INTERNAL', 'a protected route ran without a principal');
  return principal.kind === 'user' ? principal.id : `${principal.kind}:${principal.id}`;
}
