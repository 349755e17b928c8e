import { waitFor } from '@openpenpal/test-kit';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { request, startNotifierWorld, type NotifierWorld } from './support.ts';

const stack = inject('stack');

describe('notifier intake slices', () => {
  let world: NotifierWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('checks the rate limits of a slice together instead of one request after another', async () => {
    // The admission script's calls on the limits connection, and how many were in flight at once.
    let inFlight = 0;
    let mostInFlight = 0;
    let calls = 0;
    world = await startNotifierWorld(stack, {
      // One partition at a time: anything more than one call in flight comes from within a slice.
      env: { NOTIFIER_CONCURRENCY: '1' },
      onRedis: (_role, redis) => {
        // Every script call on the connection (the limits connection runs only the admission script).
        type Send = (command: { name: string; promise: Promise<unknown> }, stream?: unknown) => unknown;
        const client = redis as unknown as { sendCommand: Send };
        const sendCommand = client.sendCommand.bind(redis);
        client.sendCommand = (command, stream) => {
          const result = sendCommand(command, stream);
          if (command.name === 'evalsha' || command.name === 'eval') {
            calls += 1;
            inFlight += 1;
            mostInFlight = Math.max(mostInFlight, inFlight);
            void command.promise.finally(() => (inFlight -= 1)).catch(() => undefined);
          }
          return result;
        };
      },
    });
    const users = await Promise.all(
      Array.from({ length: 5 }, () => world!.addUser({ preferences: { quiet_hours: null } })),
    );
    // One send: the requests reach the notifier as fetched batches of a few partitions.
    const requests = Array.from({ length: 120 }, (_, i) => request({ user_id: users[i % users.length]! }));
    await world.service.ctx.producer.send(
      { topic: world.env.NOTIFIER_REQUESTS_TOPIC!, schema: 'NotificationRequested' },
      requests.map((value) => ({ key: value.notification_id, value })),
    );
    await waitFor(
      () =>
        requests.every((r) => world!.eventsOf(r.notification_id).some((e) => e.name === 'Delivered:in_app')),
      { timeoutMs: 30_000, what: 'every request delivered in-app' },
    );
    expect(calls).toBeGreaterThanOrEqual(requests.length);
    // Each slice's checks go out together (pipelined on the connection), not one per round trip.
    expect(mostInFlight).toBeGreaterThanOrEqual(10);
  });
});
