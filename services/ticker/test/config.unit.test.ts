import { SchedulerError } from '@openpenpal/errors';
import { loadConfig } from '@openpenpal/service-kit';
import { describe, expect, it } from 'vitest';
import { tickerConfigSchema } from '../src/config.ts';

const required = { KAFKA_BROKERS: '127.0.0.1:19092', REDIS_URL: 'redis://127.0.0.1:6379' };
const load = (env: Record<string, string>) => loadConfig(tickerConfigSchema, env);

describe('the ticker configuration', () => {
  it('defaults to the catalogue topic names and derives the lease timing from the TTL', () => {
    const config = load(required);
    expect(config).toMatchObject({
      KAFKA_BROKERS: ['127.0.0.1:19092'],
      KAFKA_CLIENT_ID: 'ticker',
      KAFKA_GROUP_ID: 'ticker',
      KAFKA_PROVISION_TOPICS: true,
      REDIS_KEY_PREFIX: 'openpenpal:ticker',
      REDIS_COMMAND_TIMEOUT_MS: 1_000,
      HTTP_PORT: 8_101,
      TICKER_DEFINITIONS_TOPIC: 'scheduler.task-definitions',
      TICKER_COMMANDS_TOPIC: 'scheduler.task-commands',
      TICKER_EXECUTION_EVENTS_TOPIC: 'scheduler.execution-events',
      TICKER_TRIGGER_TOPIC_PREFIX: 'scheduler.trigger.',
      TICKER_LEASE_TTL_MS: 10_000,
      TICKER_LEASE_RENEW_MS: 3_333,
      TICKER_LEASE_SAFETY_MARGIN_MS: 2_000,
    });
  });

  it('names every bad variable at once', () => {
    try {
      load({ REDIS_URL: 'http://nope', REDIS_KEY_PREFIX: '{tag}', TICKER_LEASE_TTL_MS: '10' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SchedulerError);
      const problems = (error as SchedulerError).details.problems as { variable: string }[];
      expect(problems.map((p) => p.variable).sort()).toEqual([
        'KAFKA_BROKERS',
        'REDIS_KEY_PREFIX',
        'REDIS_URL',
        'TICKER_LEASE_TTL_MS',
      ]);
    }
  });

  it('refuses a renewal interval that does not fit inside the lease validity', () => {
    expect(() =>
      load({
        ...required,
        TICKER_LEASE_TTL_MS: '3000',
        TICKER_LEASE_RENEW_MS: '2500',
        TICKER_LEASE_SAFETY_MARGIN_MS: '600',
      }),
    ).toThrow(/TICKER_LEASE_RENEW_MS/);
  });

  it('takes fencing tokens from Redis unless told, and needs DATABASE_URL to take them from PostgreSQL', () => {
    expect(load(required)).toMatchObject({ TICKER_LEASE_TOKENS: 'redis', DATABASE_POOL_SIZE: 2 });
    expect(() => load({ ...required, TICKER_LEASE_TOKENS: 'postgres' })).toThrow(/DATABASE_URL/);
    const config = load({
      ...required,
      TICKER_LEASE_TOKENS: 'postgres',
      DATABASE_URL: 'postgres://ticker@127.0.0.1:5432/openpenpal',
    });
    expect(config).toMatchObject({ TICKER_LEASE_TOKENS: 'postgres' });
  });
});
