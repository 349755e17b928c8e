import type { ReceivedSpan } from '@openpenpal/telemetry/otlp-receiver';
import { uniqueName, waitFor } from '@openpenpal/test-kit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HOUR, startChainWorld, type ChainWorld } from './chain-world.ts';
import { ADMIN, SERVICE_KEY } from './world.ts';

const stack = inject('stack');
let world: ChainWorld;

beforeAll(async () => {
  world = await startChainWorld(stack);
}, 180_000);

afterAll(async () => {
  await world.close();
});

describe('one trace', () => {
  it('covers API → courier event → handler → delay queue (across the wait) → handler → notifier → recorder', async () => {
    // Accepted an hour ago but for 3 s: the timeout check falls due 3 s from now.
    const acceptedAt = Date.now() - HOUR + 3_000;
    const { courierId, taskId } = await world.acceptedTask(uniqueName('chain'), acceptedAt);
    const response = await world.api.ops.app.inject({
      method: 'POST',
      url: `/api/v1/scheduler/inbound/courier-tasks/${taskId}/accepted`,
      headers: { 'x-api-key': SERVICE_KEY },
      payload: { courier_id: courierId, accepted_at: acceptedAt },
    });
    expect(response.statusCode).toBe(202);
    const spans = () => world.receiver.spans();
    const server = await (async () => {
      await waitFor(
        () => spans().some((s) => s.attributes['url.path']?.toString().includes(taskId) ?? false),
        {
          what: 'the API request span',
          timeoutMs: 10_000,
        },
      );
      return spans().find((s) => s.attributes['url.path']?.toString().includes(taskId)) as ReceivedSpan;
    })();
    const inTrace = () => spans().filter((s) => s.traceId === server.traceId);
    const named = (name: string) => inTrace().filter((s) => s.name === name);
    // Parents end after their children, so they may come in a later export: wait for the recorder's
    // append of the notification event and for every parent to be there.
    const complete = () => {
      const ids = new Set(inTrace().map((span) => span.spanId));
      const notified = named(`${world.topics.notifyEvents} process`)[0];
      return (
        notified !== undefined &&
        inTrace().some(
          (span) => span.name === 'event_store append' && span.parentSpanId === notified.spanId,
        ) &&
        inTrace().every((span) => span.spanId === server.spanId || ids.has(span.parentSpanId ?? ''))
      );
    };
    await waitFor(complete, {
      what: 'the whole trace, down to the recorder storing the notification event',
      timeoutMs: 60_000,
      describe: () => inTrace().map((span) => span.name),
    });
    const byId = new Map(inTrace().map((span) => [span.spanId, span]));
    const parentOf = (span: ReceivedSpan | undefined) => byId.get(span?.parentSpanId ?? '');
    expect(server.parentSpanId).toBeUndefined();
    expect(server.name).toBe('POST /api/v1/scheduler/inbound/courier-tasks/:taskId/accepted');
    // The first hop: the API's produce span is the request span's child.
    expect(named(`${world.topics.courier} publish`).map((span) => span.parentSpanId)).toEqual([
      server.spanId,
    ]);
    // Every hop has a producer span: each consumer span is the child of a producer span of its
    // topic — the courier event, the delay requests, the due trigger (published by the delay
    // queue), the delay queue's and the handler's events, and the outbox's notification request
    // and notification event (sent by the outbox relays).
    for (const hop of [
      world.topics.courier,
      world.topics.delayRequests,
      world.topics.trigger,
      world.topics.delayEvents,
      world.topics.executions,
      world.topics.notifyRequests,
      world.topics.notifyEvents,
    ]) {
      const processes = named(`${hop} process`);
      expect(processes.length, `${hop} process`).toBeGreaterThan(0);
      for (const consumer of processes)
        expect(parentOf(consumer)?.name, `${hop} process parent`).toBe(`${hop} publish`);
    }
    // The delay: the trigger's publish, made by the delay queue after the wait, is the child of the
    // handler's consume span that scheduled it; its Dispatched event is the child of that publish.
    const [dispatch] = named(`${world.topics.trigger} publish`);
    expect(parentOf(dispatch)?.name).toBe(`${world.topics.courier} process`);
    expect(
      inTrace().some(
        (span) =>
          span.name === `${world.topics.delayEvents} publish` && span.parentSpanId === dispatch?.spanId,
      ),
    ).toBe(true);
    // The outbox hops: the relay's producer span is the child of the span that wrote the row —
    // the handler's trigger processing wrote the notification request, the notifier's processing
    // wrote its event.
    const [notify] = named(`${world.topics.notifyRequests} process`);
    expect(parentOf(parentOf(notify))?.name).toBe(`${world.topics.trigger} process`);
    const [notified] = named(`${world.topics.notifyEvents} process`);
    expect(parentOf(parentOf(notified))?.name).toBe(`${world.topics.notifyRequests} process`);
    // The recorder stores the notification event inside that trace.
    expect(
      inTrace().some((span) => span.name === 'event_store append' && span.parentSpanId === notified?.spanId),
    ).toBe(true);
    // One connected tree from the API call: no span of the trace hangs off a span outside it.
    for (const span of inTrace()) {
      if (span.spanId !== server.spanId) expect(byId.has(span.parentSpanId ?? ''), span.name).toBe(true);
    }
  });

  it('covers ticker fire → handler → notifier → recorder for a task the API created', async () => {
    // A task accepted two hours ago is overdue: the cron sweep reminds its courier.
    await world.acceptedTask(uniqueName('sweep'), Date.now() - 2 * HOUR);
    const created = await world.api.ops.app.inject({
      method: 'POST',
      url: '/api/v1/scheduler/tasks',
      headers: ADMIN,
      payload: {
        task_id: uniqueName('sweep-task'),
        name: 'courier sweep every two seconds',
        task_type: 'courier_timeout_check',
        cron_expression: '*/2 * * * * *',
        timezone: 'UTC',
        payload: { timeout_hours: 1, reassign_after_reminders: 2 },
        misfire_policy: 'skip',
        concurrency_policy: 'allow',
      },
    });
    expect(created.statusCode).toBe(201);
    const spans = () => world.receiver.spans();
    // A fire's trace that reaches the recorder's append of a notification event, every parent there.
    const fireTraces = () => {
      const fires = spans().filter((span) => span.name === 'ticker fire' && span.parentSpanId === undefined);
      return fires.map((fire) => spans().filter((span) => span.traceId === fire.traceId));
    };
    const complete = (trace: ReceivedSpan[]) => {
      const ids = new Set(trace.map((span) => span.spanId));
      const notified = trace.find((span) => span.name === `${world.topics.notifyEvents} process`);
      return (
        notified !== undefined &&
        trace.some((span) => span.name === 'event_store append' && span.parentSpanId === notified.spanId) &&
        trace.every((span) => span.parentSpanId === undefined || ids.has(span.parentSpanId))
      );
    };
    await waitFor(() => fireTraces().some(complete), {
      what: 'a fire whose sweep sent a reminder, down to the recorder storing its notification event',
      timeoutMs: 60_000,
      describe: () => fireTraces().map((trace) => trace.map((span) => span.name)),
    });
    const trace = fireTraces().find(complete) as ReceivedSpan[];
    const byId = new Map(trace.map((span) => [span.spanId, span]));
    const parentOf = (span: ReceivedSpan | undefined) => byId.get(span?.parentSpanId ?? '');
    const only = (name: string) => trace.find((span) => span.name === name);
    const notified = only(`${world.topics.notifyEvents} process`);
    // Each outbox hop: consumer ← the relay's producer span ← the span that wrote the row.
    const notifiedRelay = parentOf(notified);
    const notify = parentOf(notifiedRelay);
    const notifyRelay = parentOf(notify);
    const handler = parentOf(notifyRelay);
    const fire = parentOf(handler);
    expect(notifiedRelay?.name).toBe(`${world.topics.notifyEvents} publish`);
    expect(notify?.name).toBe(`${world.topics.notifyRequests} process`);
    expect(notifyRelay?.name).toBe(`${world.topics.notifyRequests} publish`);
    expect(handler?.name).toBe(`${world.topics.trigger} process`);
    // The ticker sends an instant's triggers inside its `ticker fire` span (its context is in their
    // headers), so the handler's consume span is that span's child.
    expect(fire?.name).toBe('ticker fire');
    expect(fire?.parentSpanId).toBeUndefined();
    // The ticker's TaskTriggered and the handler's execution events are consumed by the recorder
    // inside the same trace: the handler's as children of their producer span, the ticker's as
    // children of its fire span, which they carry (they are encoded with the triggers ahead of the
    // instant and sent without a span of their own).
    for (const consumer of trace.filter((span) => span.name === `${world.topics.executions} process`)) {
      expect([`${world.topics.executions} publish`, 'ticker fire']).toContain(parentOf(consumer)?.name);
    }
    expect(trace.filter((span) => span.name === `${world.topics.executions} process`).length).toBeGreaterThan(
      0,
    );
  });
});
