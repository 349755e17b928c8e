import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadStackEnv } from '../src/stack-env.ts';

describe('loadStackEnv', () => {
  it('prefers variables set by the caller when all three parts are named', () => {
    const env = loadStackEnv({
      KAFKA_BROKERS: 'a:1, b:2',
      REDIS_URL: 'redis://r',
      DATABASE_URL: 'postgres://p',
      STACK_ENV_FILE: '/nonexistent',
    });
    expect(env).toEqual({
      source: 'env',
      kafkaBrokers: ['a:1', 'b:2'],
      redisUrl: 'redis://r',
      databaseUrl: 'postgres://p',
    });
  });

  it('reads the local stack env file when the environment names only part of the stack', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-env-'));
    const file = join(dir, 'env');
    writeFileSync(
      file,
      '# comment\nSTACK_SOURCE=local\nKAFKA_BROKERS=127.0.0.1:19092\nREDIS_URL=redis://:s@127.0.0.1:16379\nDATABASE_URL=postgres://u:p@127.0.0.1:15432/db\n',
    );
    const env = loadStackEnv({ REDIS_URL: 'redis://ignored', STACK_ENV_FILE: file });
    expect(env?.source).toBe('local');
    expect(env?.kafkaBrokers).toEqual(['127.0.0.1:19092']);
    expect(env?.redisUrl).toBe('redis://:s@127.0.0.1:16379');
  });

  it('returns undefined when neither the environment nor an env file names a stack', () => {
    expect(loadStackEnv({ STACK_ENV_FILE: '/nonexistent/env' })).toBeUndefined();
  });
});
