import { loadConfig } from '@openpenpal/service-kit';
import { documentedSettings } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import { apiConfigSchema, hashServiceKey } from '../src/config.ts';

const minimal = {
  KAFKA_BROKERS: 'localhost:9092',
  DATABASE_URL: 'postgres://localhost/db',
  REDIS_URL: 'redis://localhost',
  API_JWT_SECRET: 'a-secret-of-at-least-thirty-two-bytes!!',
};

describe('api configuration', () => {
  it('lists every variable of the config schema in the README table, and nothing else', () => {
    expect(documentedSettings(new URL('../README.md', import.meta.url)).sort()).toEqual(
      Object.keys(apiConfigSchema.shape).sort(),
    );
  });

  it('defaults to port 8080 and HS256, and reads hashed service keys', () => {
    const config = loadConfig(apiConfigSchema, {
      ...minimal,
      API_SERVICE_KEYS: `letters:${hashServiceKey('k1')}, ai:${hashServiceKey('k2')}`,
    });
    expect(config.HTTP_PORT).toBe(8080);
    expect(config.API_JWT_ALGORITHM).toBe('HS256');
    expect(config.API_SERVICE_KEYS.map((entry) => entry.name)).toEqual(['letters', 'ai']);
  });

  it.each([
    [{ API_JWT_SECRET: '' }, 'API_JWT_SECRET'],
    [{ API_JWT_SECRET: 'short' }, 'API_JWT_SECRET'],
    [{ API_JWT_ALGORITHM: 'RS256' }, 'API_JWT_PUBLIC_KEY'],
    [{ API_SERVICE_KEYS: 'letters:plaintext-key' }, 'API_SERVICE_KEYS'],
    [{ API_EVENT_SIGNING_SECRET: 'short' }, 'API_EVENT_SIGNING_SECRET'],
    [{ API_READ_MODEL_SCHEMA: 'recorder; drop' }, 'API_READ_MODEL_SCHEMA'],
  ])('refuses %j naming %s', (change, variable) => {
    expect(() => loadConfig(apiConfigSchema, { ...minimal, ...change })).toThrow(variable);
  });
});
