import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createKafkaTestContext, uniqueName, type KafkaTestContext } from '@openpenpal/test-kit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from './own-redis.ts';
import {
  collect,
  contracts,
  decodeEvents,
  dispatchedOf,
  deleteStoreKeys,
  deleteTopics,
  scheduleRequest,
  storeIds,
  unionMessageId,
  waitFor,
} from './service-support.ts';
import { createKafkaClient, createProducer } from '@openpenpal/messaging';
import { testLogger } from './service-support.ts';
import { spawnService } from './processes.ts';

const stack = inject('stack');
const MESSAGES = 10_000;
const BATCH_SIZE = 200;

describe('delay queue process crash', () => {
  let kafka: KafkaTestContext;
  let env: NodeJS.ProcessEnv;
  let redis: Redis;
  const running: ChildProcess[] = [];

  beforeAll(async () => {
    kafka = await createKafkaTestContext(stack, { requests: 3, events: 3, target: 3 });
    redis = new Redis(stack.redisUrl);
    env = {
      KAFKA_BROKERS: stack.kafkaBrokers.join(','),
      REDIS_URL: stack.redisUrl,
      HTTP_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      REDIS_KEY_PREFIX: uniqueName('t-dq-crash'),
      DELAY_QUEUE_REQUESTS_TOPIC: kafka.topics.requests,
      DELAY_QUEUE_EVENTS_TOPIC: kafka.topics.events,
      KAFKA_GROUP_ID: kafka.groupId('delay-queue'),
      DELAY_QUEUE_EXTRA_TOPICS: kafka.topics.target,
      DELAY_QUEUE_INTAKE_CONCURRENCY: '3',
      DELAY_QUEUE_BATCH_SIZE: String(BATCH_SIZE),
      DELAY_QUEUE_VISIBILITY_MS: '2000',
      // The killed member's session must run out before its partitions move to the new process.
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    };
  });
  afterAll(async () => {
    for (const child of running)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    redis.disconnect();
    await deleteStoreKeys(stack, env.REDIS_KEY_PREFIX ?? '');
    await deleteTopics(kafka.kafka, [`${kafka.topics.requests}.dlq`, `${kafka.topics.events}.dlq`]);
    await kafka.close();
  });

  it('loses no message when the dispatcher process is SIGKILLed mid-dispatch, and repeats at most a batch', async () => {
    const target = kafka.topics.target ?? '';
    const out = await collect(kafka.kafka, [target]);
    const events = await collect(kafka.kafka, [kafka.topics.events ?? '']);
    const requester = createProducer({
      kafka: createKafkaClient({ brokers: stack.kafkaBrokers, clientId: 'crash-test', logger: testLogger }),
      contracts,
      logger: testLogger,
    });
    const start = Date.now() + 3_000;
    const requests = Array.from({ length: MESSAGES }, (_, i) =>
      scheduleRequest({
        message_id: `crash-${i}`,
        due_at: start + Math.floor((i * 4_000) / MESSAGES),
        target_topic: target,
      }),
    );
    for (let i = 0; i < MESSAGES; i += 1_000) {
      const chunk = requests.slice(i, i + 1_000);
      await requester.send(
        { topic: kafka.topics.requests ?? '', schema: 'DelayRequest' },
        chunk.map((value) => ({ key: unionMessageId(value), value })),
      );
    }
    await requester.close();

    const first = spawnService(env);
    running.push(first.child);
    await waitFor(() => (out.messages.length >= MESSAGES * 0.4 ? true : undefined), 90_000).catch(
      (error: unknown) => {
        throw new Error(`${String(error)}\n${first.output()}`);
      },
    );
    // Kill while the dispatcher holds claims, so the restarted process must redeliver them.
    const prefix = env.REDIS_KEY_PREFIX ?? '';
    // One shard per partition of the requests topic, all dispatched by the one process.
    const held = async () => (await storeIds(redis, prefix, 3)).inFlight;
    const deadline = Date.now() + 10_000;
    while ((await held()).length === 0 && Date.now() < deadline);
    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    await exited;
    // What the killed process held claimed: each of these must be claimed again and published.
    const claimedAtKill = await held();
    const atKill = out.messages.length;
    const killedAt = Date.now();

    const second = spawnService(env);
    running.push(second.child);
    const ids = () => new Set(out.messages.map((m) => m.headers['message-id']));
    await waitFor(() => (ids().size >= MESSAGES ? true : undefined), 120_000).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${ids().size} of ${MESSAGES}\n${second.output()}`);
    });
    // Publishes happen before acks, so once nothing is pending or claimed no copy is still coming.
    await waitFor(async () => {
      const { pending, inFlight } = await storeIds(redis, prefix, 3);
      return pending.length + inFlight.length === 0 ? true : undefined;
    });
    const recoveredMs = Date.now() - killedAt;
    // Every claim the killed process held is dispatched again by the new one. Its event says
    // `redelivered` when the expired claim itself went out; a copy whose first publish after the
    // restart failed (the broker was busy) was released and claimed again from pending, and says
    // false. Decoded as they arrive (decoding all events on every poll starves a busy machine).
    const again = new Set<string>();
    const redelivered = new Set<string>();
    let decoded = 0;
    await waitFor(() => {
      const fresh = events.messages.slice(decoded);
      decoded += fresh.length;
      for (const event of decodeEvents(fresh)) {
        const dispatched = dispatchedOf(event);
        if (!dispatched || dispatched.dispatched_at < killedAt) continue;
        again.add(event.message_id);
        if (dispatched.redelivered) redelivered.add(event.message_id);
      }
      return claimedAtKill.every((id) => again.has(id)) ? true : undefined;
    }, 120_000).catch((error: unknown) => {
      const missing = claimedAtKill.filter((id) => !again.has(id));
      throw new Error(`${String(error)}: ${missing.length} claimed at the kill not dispatched again`);
    });
    const publishFailures = second
      .logs()
      .filter((entry) => entry.msg === 'publishing due messages failed').length;
    const exitedCleanly = once(second.child, 'exit');
    second.child.kill('SIGTERM');
    const [code] = (await exitedCleanly) as [number | null];
    await out.close();
    await events.close();

    const duplicates = out.messages.length - ids().size;
    const took = second
      .logs()
      .find((entry) => entry.msg === 'dispatching the shards of the owned partitions');
    console.info(
      `crash test: the new process dispatched from ${Number(took?.time ?? 0) - killedAt} ms after the kill`,
    );
    console.info(
      `crash test: ${atKill} published before SIGKILL, ${out.messages.length} received, ${ids().size} unique, ${duplicates} duplicates, ${claimedAtKill.length} claimed at the kill and dispatched again (${redelivered.size} flagged redelivered, ${publishFailures} failed publishes after the restart), all delivered ${recoveredMs} ms after the kill`,
    );
    expect(atKill).toBeLessThan(MESSAGES);
    expect(ids().size).toBe(MESSAGES);
    expect(claimedAtKill.length).toBeGreaterThan(0);
    expect(claimedAtKill.length).toBeLessThanOrEqual(BATCH_SIZE);
    // Every copy beyond the first comes from a claim that expired with the killed process.
    expect(duplicates).toBeLessThanOrEqual(claimedAtKill.length);
    expect(duplicates).toBeLessThanOrEqual(BATCH_SIZE);
    expect(code).toBe(0);
  }, 240_000);
});
