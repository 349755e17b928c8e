import { randomUUID } from 'node:crypto';
import { ANY, NO_STREAM, STREAM_EXISTS, type AllStreamResolvedEvent } from '@eventstore/db-client';
import { SchedulerError } from '@openpenpal/errors';
import { describe, expect, it } from 'vitest';
import { classifyEsdbError, toEsdbExpectedRevision, toRecordedEvent } from '../src/esdb/mapping.ts';
import type { CurrentRevision, ExpectedRevision } from '../src/index.ts';
import { pgNames } from '../src/postgres/schema.ts';
import { categoryOf, conflictError, expectationHolds, normalizeEvents } from '../src/validation.ts';

describe('categories', () => {
  it('takes the stream id up to its first dash, or the whole id when it has none', () => {
    expect(categoryOf('execution-42')).toBe('execution');
    expect(categoryOf('task-a-b-c')).toBe('task');
    expect(categoryOf('settings')).toBe('settings');
  });
});

describe('expected revisions', () => {
  const cases: Array<[ExpectedRevision, CurrentRevision, boolean]> = [
    ['any', 'no_stream', true],
    ['any', 3n, true],
    ['no_stream', 'no_stream', true],
    ['no_stream', 0n, false],
    ['stream_exists', 'no_stream', false],
    ['stream_exists', 0n, true],
    [2n, 2n, true],
    [2n, 3n, false],
    [0n, 'no_stream', false],
  ];
  it.each(cases)('expecting %s of a stream at %s holds: %s', (expected, actual, holds) => {
    expect(expectationHolds(expected, actual)).toBe(holds);
  });

  it('reports a conflict with the stream, expected and actual revisions as strings', () => {
    const error = conflictError('task-1', 4n, 'no_stream');
    expect(error).toBeInstanceOf(SchedulerError);
    expect(error.code).toBe('CONFLICT');
    expect(error.retryable).toBe(false);
    expect(error.details).toEqual({ stream: 'task-1', expected: '4', actual: 'no_stream' });
    expect(() => JSON.stringify(error.details)).not.toThrow();
  });
});

describe('event batches', () => {
  it('lower-cases ids and defaults metadata to an empty object', () => {
    const id = randomUUID().toUpperCase();
    expect(normalizeEvents('task-1', [{ id, type: 'TaskCreated', data: { a: 1 } }])).toEqual([
      { id: id.toLowerCase(), type: 'TaskCreated', data: { a: 1 }, metadata: {} },
    ]);
  });

  it('refuses an id used twice in the same batch, whatever its case', () => {
    const id = randomUUID();
    const events = [
      { id, type: 'A', data: {} },
      { id: id.toUpperCase(), type: 'A', data: {} },
    ];
    expect(() => normalizeEvents('task-1', events)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });

  it('refuses data that is not a plain JSON object', () => {
    for (const data of [null, [], new Date(), 'text']) {
      expect(() =>
        normalizeEvents('task-1', [
          { id: randomUUID(), type: 'A', data: data as unknown as Record<string, unknown> },
        ]),
      ).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });
});

describe('PostgreSQL names', () => {
  it('derives the quoted table, the lock keys and the channel from the schema', () => {
    expect(pgNames('t_abc')).toEqual({
      schema: 't_abc',
      table: '"t_abc".events',
      appendFunction: '"t_abc".append_events',
      appendManyFunction: '"t_abc".append_many',
      sequence: '"t_abc".events_position_seq',
      appendLockKey: 'openpenpal.event_store.append:t_abc',
      streamLockPrefix: 'openpenpal.event_store.stream:t_abc:',
      migrationLockKey: 'openpenpal.event_store.migrate:t_abc',
      channel: 'es_t_abc',
    });
    expect(pgNames().schema).toBe('event_store');
  });

  it('refuses a schema name too long for a channel name', () => {
    expect(() => pgNames('a'.repeat(61))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('EventStoreDB mapping', () => {
  const resolved = (overrides: Record<string, unknown>): AllStreamResolvedEvent => ({
    event: {
      streamId: 'task-1',
      id: '0b0e3c2e-4a7c-4e0e-9a51-0c6a9f1b9d11',
      isJson: true,
      revision: 3n,
      type: 'TaskCreated',
      created: new Date('2025-01-01T00:00:00Z'),
      data: { a: 1 },
      metadata: { m: true },
      position: { commit: 1234n, prepare: 1234n },
      ...overrides,
    },
  });

  it('maps expected revisions to the client constants', () => {
    expect(toEsdbExpectedRevision('any')).toBe(ANY);
    expect(toEsdbExpectedRevision('no_stream')).toBe(NO_STREAM);
    expect(toEsdbExpectedRevision('stream_exists')).toBe(STREAM_EXISTS);
    expect(toEsdbExpectedRevision(7n)).toBe(7n);
  });

  it('maps a recorded event with its commit position as the global position', () => {
    expect(toRecordedEvent(resolved({}))).toEqual({
      id: '0b0e3c2e-4a7c-4e0e-9a51-0c6a9f1b9d11',
      type: 'TaskCreated',
      data: { a: 1 },
      metadata: { m: true },
      streamId: 'task-1',
      revision: 3n,
      position: 1234n,
      createdAt: new Date('2025-01-01T00:00:00Z'),
    });
    expect(toRecordedEvent(resolved({ metadata: undefined })).metadata).toEqual({});
  });

  it('refuses events without a position or without a JSON object body', () => {
    for (const overrides of [
      { position: undefined },
      { position: { commit: 2n ** 64n - 1n, prepare: 2n ** 64n - 1n } },
      { isJson: false, data: new Uint8Array([1]) },
      { data: [1, 2] },
    ]) {
      expect(() => toRecordedEvent(resolved(overrides))).toThrow(
        expect.objectContaining({ code: 'INTERNAL' }),
      );
    }
  });

  it('classifies client errors by their type and passes unknown ones through', () => {
    const unavailable = Object.assign(new Error('no connection'), { type: 'unavailable' });
    const tooLarge = Object.assign(new Error('too big'), { type: 'maximum-append-size-exceeded' });
    const other = Object.assign(new Error('odd'), { type: 'unknown' });
    expect(classifyEsdbError(unavailable, 'append')).toMatchObject({
      code: 'DEPENDENCY_UNAVAILABLE',
      retryable: true,
    });
    expect(classifyEsdbError(tooLarge, 'append')).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(classifyEsdbError(other, 'append')).toBe(other);
  });
});
