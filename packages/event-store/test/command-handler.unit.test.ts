import { randomUUID } from 'node:crypto';
import { SchedulerError } from '@openpenpal/errors';
import { describe, expect, it } from 'vitest';
import {
  createCommandHandler,
  createInMemoryEventStore,
  type Decider,
  type EventStore,
  type RecordedEvent,
} from '../src/index.ts';
import { rejection } from './conformance-helpers.ts';

/** A counter that refuses to go below zero: small enough to see every rule of the handler. */
interface Counter {
  value: number;
  revision: number;
}
type CounterCommand = { type: 'add'; by: number } | { type: 'set'; to: number };
interface Added {
  type: 'Added';
  data: { by: number };
}
type StoredAdded = Added & { revision: number };

const counter: Decider<Counter, CounterCommand, Added, StoredAdded> = {
  initialState: () => ({ value: 0, revision: -1 }),
  evolve: (state, event) => ({ value: state.value + event.data.by, revision: event.revision }),
  decide: (command, state) => {
    const by = command.type === 'add' ? command.by : command.to - state.value;
    if (state.value + by < 0) throw new SchedulerError('VALIDATION_FAILED', 'a counter stays >= 0');
    return by === 0 ? [] : [{ type: 'Added', data: { by } }];
  },
};

const fromStored = (event: RecordedEvent): StoredAdded | undefined =>
  event.type === 'Added'
    ? { type: 'Added', data: { by: Number(event.data.by) }, revision: Number(event.revision) }
    : undefined;

// Deterministic, distinct per command and index, and a UUID: enough for a test.
const eventId = (commandId: string, index: number): string =>
  `00000000-0000-4000-8000-${(commandId.length * 1000 + index).toString().padStart(12, '0')}`;

function setup(store: EventStore = createInMemoryEventStore()) {
  const handle = createCommandHandler({ store, decider: counter, fromStored, eventId });
  return { store, handle, stream: `counter-${randomUUID()}` };
}

describe('the command handler', () => {
  it('folds the stream, decides and appends, answering with the state after the command', async () => {
    const { store, handle, stream } = setup();
    const first = await handle(stream, { type: 'add', by: 2 });
    const second = await handle(stream, { type: 'add', by: 3 });

    expect(first).toMatchObject({ state: { value: 2, revision: 0 }, revision: 0n, retried: false });
    expect(second).toMatchObject({ state: { value: 5, revision: 1 }, revision: 1n, retried: false });
    const stored = await store.readStream(stream);
    expect(second.appended).toEqual(stored.slice(1));
    expect(stored.map((event) => event.data)).toEqual([{ by: 2 }, { by: 3 }]);
  });

  it('appends nothing when the decision is empty and answers with the current revision', async () => {
    const { store, handle, stream } = setup();
    await handle(stream, { type: 'add', by: 4 });
    const same = await handle(stream, { type: 'set', to: 4 });

    expect(same).toEqual({ state: { value: 4, revision: 0 }, appended: [], revision: 0n, retried: false });
    expect(await handle(`counter-${randomUUID()}`, { type: 'set', to: 0 })).toMatchObject({
      revision: 'no_stream',
      appended: [],
    });
    expect(await store.readStream(stream)).toHaveLength(1);
  });

  it('records a retried command once and answers with the events of its first try', async () => {
    const { store, handle, stream } = setup();
    const first = await handle(stream, { type: 'add', by: 1 }, { commandId: 'c-1' });
    await handle(stream, { type: 'add', by: 10 });
    const retried = await handle(stream, { type: 'add', by: 1 }, { commandId: 'c-1' });

    expect(first.appended.map((event) => event.id)).toEqual([eventId('c-1', 0)]);
    expect(retried).toMatchObject({ retried: true, revision: 0n, state: { value: 11, revision: 1 } });
    expect(retried.appended).toEqual(first.appended);
    expect(await store.readStream(stream)).toHaveLength(2);
  });

  it('refuses a command against a revision the caller has not seen, before deciding', async () => {
    const { handle, stream } = setup();
    await handle(stream, { type: 'add', by: 1 });
    await handle(stream, { type: 'add', by: 1 });

    const stale = await rejection(handle(stream, { type: 'set', to: 1 }, { expectedRevision: 0n }));
    const missing = await rejection(
      handle(`counter-${randomUUID()}`, { type: 'add', by: 1 }, { expectedRevision: 3n }),
    );

    expect(stale).toMatchObject({ code: 'CONFLICT', details: { stream, expected: '0', actual: '1' } });
    expect(missing.details).toMatchObject({ expected: '3', actual: 'no_stream' });
    await expect(handle(stream, { type: 'add', by: 1 }, { expectedRevision: 1n })).resolves.toMatchObject({
      revision: 2n,
    });
  });

  it('turns a write by someone else between its read and its append into a CONFLICT', async () => {
    const store = createInMemoryEventStore();
    const { handle, stream } = setup(store);
    await handle(stream, { type: 'add', by: 1 });
    // Fault injection: the next read returns, then another writer appends before the handler does.
    const read = store.readStream.bind(store);
    store.readStream = async (...args) => {
      const events = await read(...args);
      store.readStream = read;
      await store.append(stream, [{ id: randomUUID(), type: 'Added', data: { by: 5 } }]);
      return events;
    };

    const error = await rejection(handle(stream, { type: 'add', by: 1 }));

    expect(error).toMatchObject({ code: 'CONFLICT', details: { stream, expected: '0', actual: '1' } });
    expect((await store.readStream(stream)).map((event) => event.data.by)).toEqual([1, 5]);
  });

  it('appends nothing when the decision refuses the command', async () => {
    const { store, handle, stream } = setup();
    expect((await rejection(handle(stream, { type: 'add', by: -1 }))).code).toBe('VALIDATION_FAILED');
    expect(await store.readStream(stream)).toEqual([]);
  });

  it('leaves out events the decider does not read, and random ids for commands without an id', async () => {
    const { store, handle, stream } = setup();
    await store.append(stream, [{ id: randomUUID(), type: 'Commented', data: { text: 'hi' } }]);
    const [a, b] = [
      await handle(stream, { type: 'add', by: 1 }),
      await handle(stream, { type: 'add', by: 1 }),
    ];

    expect(b).toMatchObject({ state: { value: 2, revision: 2 }, revision: 2n });
    expect(a.appended[0]!.id).not.toBe(b.appended[0]!.id);
  });

  it('refuses a command id when it has no way to derive event ids from it', async () => {
    const store = createInMemoryEventStore();
    const handle = createCommandHandler({ store, decider: counter, fromStored });
    const error = await rejection(handle('counter-1', { type: 'add', by: 1 }, { commandId: 'c-1' }));
    expect(error.code).toBe('INTERNAL');
    expect(await store.readStream('counter-1')).toEqual([]);
  });
});
