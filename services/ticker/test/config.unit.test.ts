import { readFileSync } from 'node:fs';
import { SchedulerError } from '@openpenpal/errors';
import { describe, expect, it } from 'vitest';
import { loadTickerConfig, tickerConfigShape } from '../src/config.ts';

const required = { KAFKA_BROKERS: '127.0.0.1:19092', REDIS_URL: 'redis://127.0.0.1:6379' };

describe('the ticker configuration', () => {
  it('defaults to the catalogue topic names and derives the lease timing from the TTL', () => {
    const config = loadTickerConfig(required);
    expect(config).toMatchObject({
      KAFKA_BROKERS: ['127.0.0.1:19092'],
      TICKER_DEFINITIONS_TOPIC: 'scheduler.task-definitions',
      TICKER_COMMANDS_TOPIC: 'scheduler.task-commands',
      TICKER_EXECUTION_EVENTS_TOPIC: 'scheduler.execution-events',
      TICKER_TRIGGER_TOPIC_PREFIX: 'scheduler.trigger.',
      TICKER_PROVISION_TOPICS: true,
      TICKER_LEASE_TTL_MS: 10_000,
      TICKER_LEASE_RENEW_MS: 3_333,
      TICKER_LEASE_SAFETY_MARGIN_MS: 2_000,
    });
  });

  it('names every bad variable at once', () => {
    try {
      loadTickerConfig({ REDIS_URL: 'http://nope', TICKER_REDIS_PREFIX: '{tag}', TICKER_LEASE_TTL_MS: '10' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SchedulerError);
      const problems = (error as SchedulerError).details.problems as { variable: string }[];
      expect(problems.map((p) => p.variable).sort()).toEqual([
        'KAFKA_BROKERS',
        'REDIS_URL',
        'TICKER_LEASE_TTL_MS',
        'TICKER_REDIS_PREFIX',
      ]);
    }
  });

  it('refuses a renewal interval that does not fit inside the lease validity', () => {
    expect(() =>
      loadTickerConfig({
        ...required,
        TICKER_LEASE_TTL_MS: '3000',
        TICKER_LEASE_RENEW_MS: '2500',
        TICKER_LEASE_SAFETY_MARGIN_MS: '600',
      }),
    ).toThrow(/TICKER_LEASE_RENEW_MS/);
  });

  it('documents every variable in the README table', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const documented = new Set([...readme.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]));
    for (const name of Object.keys(tickerConfigShape)) expect(documented, name).toContain(name);
  });
});
