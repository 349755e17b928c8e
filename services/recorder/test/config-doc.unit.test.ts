import { readFileSync } from 'node:fs';
import { loadConfig } from '@openpenpal/service-kit';
import { errorWithCode } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import { databaseCommandConfigSchema, recorderConfigSchema } from '../src/config.ts';

const required = { KAFKA_BROKERS: 'localhost:9092', DATABASE_URL: 'postgres://localhost/db' };

describe('configuration', () => {
  it('lists every variable of the config schema in the README table, and nothing else', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
    );
    const documented = [...section.matchAll(/^\| `([A-Z0-9_]+)`/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(recorderConfigSchema.shape).sort());
  });

  it('keeps the recorder group and names its own settings RECORDER_*', () => {
    const config = loadConfig(recorderConfigSchema, required);
    expect(config).toMatchObject({
      KAFKA_GROUP_ID: 'recorder',
      KAFKA_CLIENT_ID: 'recorder',
      HTTP_PORT: 8103,
      EVENT_STORE_BACKEND: 'postgres',
      EVENT_STORE_PG_SCHEMA: 'event_store',
    });
    const own = Object.keys(recorderConfigSchema.shape).filter(
      (name) =>
        !/^(KAFKA|DATABASE|EVENT_STORE|HTTP)_|^(LOG_LEVEL|SHUTDOWN_DEADLINE_MS|INSTANCE_ID)$/.test(name),
    );
    expect(own.every((name) => name.startsWith('RECORDER_'))).toBe(true);
  });

  it('requires the EventStoreDB URL with the esdb backend, naming the variable', () => {
    expect(() => loadConfig(recorderConfigSchema, { ...required, EVENT_STORE_BACKEND: 'esdb' })).toThrow(
      errorWithCode('CONFIG_INVALID', {
        message: 'EVENT_STORE_ESDB_URL: required when EVENT_STORE_BACKEND is esdb',
      }),
    );
    expect(() =>
      loadConfig(databaseCommandConfigSchema, {
        DATABASE_URL: required.DATABASE_URL,
        EVENT_STORE_BACKEND: 'esdb',
        EVENT_STORE_ESDB_URL: 'http://localhost:2113',
      }),
    ).toThrow(errorWithCode('CONFIG_INVALID', { message: 'EVENT_STORE_ESDB_URL' }));
    expect(
      loadConfig(recorderConfigSchema, {
        ...required,
        EVENT_STORE_BACKEND: 'esdb',
        EVENT_STORE_ESDB_URL: 'esdb://eventstore:2113?tls=false',
      }).EVENT_STORE_ESDB_URL,
    ).toBe('esdb://eventstore:2113?tls=false');
  });

  it('lets rebuild and retry-parked run with the database settings alone', () => {
    expect(loadConfig(databaseCommandConfigSchema, { DATABASE_URL: required.DATABASE_URL })).toMatchObject({
      RECORDER_DB_SCHEMA: 'recorder',
      EVENT_STORE_PG_SCHEMA: 'event_store',
      RECORDER_PROJECTOR_BATCH: 2000,
    });
  });
});
