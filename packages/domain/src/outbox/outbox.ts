import type { EncodedBatch } from '@openpenpal/messaging';
import type pg from 'pg';
import { qualified } from '../schema-name.ts';

/** The channel a commit that added outbox rows notifies, so the relay wakes at once. */
export const OUTBOX_CHANNEL = 'openpenpal_outbox';

/** Something that runs a query: a pool, or the client of an open transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

/**
 * Adds messages (encoded by the producer's `encode`, so they carry their `message-id` and the trace
 * context of the span that caused them) to the outbox, inside the caller's transaction: they are
 * relayed to Kafka only once it commits, and not lost if the process dies after the commit. Rows
 * keep the given order; a change's messages are relayed in that order after those of any change
 * committed before it that locked the same rows.
 */
export async function enqueueOutbox(
  client: Queryable,
  schema: string,
  batches: readonly EncodedBatch[],
): Promise<number> {
  const topics: string[] = [];
  const keys: (string | null)[] = [];
  const values: (Buffer | null)[] = [];
  const headers: string[] = [];
  for (const batch of batches) {
    for (const message of batch.messages) {
      topics.push(batch.topic);
      keys.push(message.key === null || message.key === undefined ? null : String(message.key));
      values.push(message.value === null ? null : Buffer.from(message.value));
      const text: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {})) {
        const single = Array.isArray(value) ? value.at(-1) : value;
        const asText = headerText(single);
        if (asText !== undefined) text[name] = asText;
      }
      headers.push(JSON.stringify(text));
    }
  }
  if (topics.length === 0) return 0;
  await client.query(
    `INSERT INTO ${qualified(schema, 'scheduler_outbox')} (topic, message_key, value, headers)
     SELECT topic, message_key, value, headers FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[])
       WITH ORDINALITY AS m(topic, message_key, value, headers, ord)
     ORDER BY ord`,
    [topics, keys, values, headers],
  );
  await client.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, schema]);
  return topics.length;
}
