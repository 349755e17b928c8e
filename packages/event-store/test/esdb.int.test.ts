import { EventStoreDBClient } from '@eventstore/db-client';
import { describe } from 'vitest';
import { createEsdbEventStore } from '../src/index.ts';
import { eventStoreConformance } from './conformance.ts';

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING;

if (connectionString === undefined || connectionString === '') {
  console.warn(
    '[event-store] EventStoreDB conformance suite SKIPPED: EVENTSTORE_CONNECTION_STRING is not set. ' +
      'Run `docker compose up -d eventstore`, then ' +
      '`EVENTSTORE_CONNECTION_STRING=esdb://localhost:2113?tls=false pnpm vitest run packages/event-store`.',
  );
}

describe.skipIf(connectionString === undefined || connectionString === '')('EventStoreDB adapter', () => {
  describe('conformance', () => {
    eventStoreConformance(() => {
      const client = EventStoreDBClient.connectionString(connectionString ?? '');
      const store = createEsdbEventStore({ client });
      return Promise.resolve({
        store,
        close: async () => {
          await store.close();
          await client.dispose();
        },
      });
    });
  });
});
