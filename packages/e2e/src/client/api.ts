import { createHmac } from 'node:crypto';

/** An HS256 JWT as the platform's auth issues it (docs/api.md): `sub` and `role`, one hour. */
export function signToken(secret: string, claims: { sub: string; role: string }, now = Date.now()): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const iat = Math.floor(now / 1000);
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ ...claims, iat, exp: iat + 3_600 })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ApiClient {
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: { body?: unknown; headers?: Record<string, string> },
  ): Promise<ApiAnswer<T>>;
  /** The request, failing with the answer unless its status is `expected`. */
  expect<T = Record<string, unknown>>(
    expected: number,
    method: string,
    path: string,
    options?: { body?: unknown; headers?: Record<string, string> },
  ): Promise<T>;
}

/** The admin API as an operator calls it, with a `platform_admin` token signed with API_JWT_SECRET. */
export function createApiClient(baseUrl: string, secret: string, sub = 'e2e-operator'): ApiClient {
  const token = signToken(secret, { sub, role: 'platform_admin' });
  const request = async <T>(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<ApiAnswer<T>> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : null) as T,
      headers: response.headers,
    };
  };
  return {
    request,
    expect: async <T>(
      expected: number,
      method: string,
      path: string,
      options?: { body?: unknown; headers?: Record<string, string> },
    ) => {
      const answer = await request<T>(method, path, options);
      if (answer.status !== expected) {
        throw new Error(
          `${method} ${path}: expected ${expected}, got ${answer.status} ${JSON.stringify(answer.body)}`,
        );
      }
      return answer.body;
    },
  };
}
