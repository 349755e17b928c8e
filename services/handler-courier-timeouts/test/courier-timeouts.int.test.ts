import { sampleTrigger } from '@openpenpal/contracts/samples';
import { createCourierTimeoutRepository, exactExecutionId } from '@openpenpal/domain';
import { uniqueName, waitFor } from '@openpenpal/test-kit';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createProducer } from '@openpenpal/messaging';
import { createContracts } from '@openpenpal/contracts';
import { pino } from 'pino';
import { checkMessages } from '../src/check/messages.ts';
import { checkMessageId } from '../src/check/schedule.ts';
import {
  histories,
  insertCouriers,
  insertTasks,
  startCourierWorld,
  taskState,
  type CourierWorld,
} from './support.ts';

const stack = inject('stack');
let world: CourierWorld | undefined;

afterEach(async () => {
  await world?.close();
  world = undefined;
});

const HOUR = 3_600_000;

/** An exact-time check trigger of one task, as the delay queue would publish it. */
const exactTrigger = (
  taskId: string,
  dueAt: number,
  payload = { timeout_hours: 48, reassign_after_reminders: 2 },
) =>
  sampleTrigger({
    execution_id: exactExecutionId('courier_timeout_check', taskId, dueAt),
    task_id: 'courier_timeout_check',
    task_type: 'courier_timeout_check',
    task_name: 'Courier Timeout Reminder',
    payload: JSON.stringify(payload),
    source: 'delayed',
    business_key: taskId,
    nominal_time: dueAt,
    fire_time: dueAt,
    max_retries: 0,
  });

const sweepTrigger = () =>
  sampleTrigger({
    task_id: 'courier_timeout_check',
    task_type: 'courier_timeout_check',
    task_name: 'Courier Timeout Reminder',
    payload: JSON.stringify({ timeout_hours: 48, reassign_after_reminders: 2 }),
    source: 'cron',
    max_retries: 0,
  });

const resultsFor = (w: CourierWorld, taskId: string) =>
  w.results.messages.filter((m) => m.value?.taskId === taskId);
const noticesFor = (w: CourierWorld, userId: string) =>
  w.notifications.messages.filter((m) => m.value?.user_id === userId);
const settle = () => new Promise((resolve) => setTimeout(resolve, 2_000));

/** A zone under PK5F3D: the holder, candidates at building level and above. */
async function zone(w: CourierWorld, tag: string) {
  const id = (name: string) => `${tag}-${name}`;
  await insertCouriers(w.pg, [
    { id: id('holder'), level: 1, prefix: 'PK5F3D' },
    { id: id('busy'), level: 1, prefix: 'PK5F3D', rating: 4.9 },
    { id: id('free'), level: 1, prefix: 'PK5F3D', rating: 3.5 },
    { id: id('low-rated'), level: 1, prefix: 'PK5F3D', rating: 2.9 },
    { id: id('pending'), level: 1, prefix: 'PK5F3D', status: 'pending' },
    { id: id('capped'), level: 1, prefix: 'PK5F3D', max_daily_tasks: 1 },
    { id: id('other-building'), level: 1, prefix: 'PK5F9Z' },
    { id: id('area'), level: 2, prefix: 'PK5F' },
  ]);
  // busy holds two active tasks, free one; capped took its one task of the day already.
  await insertTasks(w.pg, [
    { id: id('b1'), courier_id: id('busy') },
    { id: id('b2'), courier_id: id('busy') },
    { id: id('f1'), courier_id: id('free'), status: 'collected' },
    { id: id('c1'), courier_id: id('capped'), status: 'delivered' },
  ]);
  return id;
}

describe('courier timeout check', () => {
  it('schedules the check at acceptedAt + timeout from CourierTaskAccepted and reminds the courier then', async () => {
    world = await startCourierWorld(stack, { HANDLER_COURIER_TIMEOUT_CHECK_TIMEOUT_HOURS: '1' });
    const tag = uniqueName('ct');
    await insertCouriers(world.pg, [{ id: `${tag}-c`, level: 1, prefix: 'PK5F3D' }]);
    const acceptedAt = Date.now() - HOUR + 3_000;
    const taskId = `${tag}-task`;
    await insertTasks(world.pg, [{ id: taskId, courier_id: `${tag}-c`, accepted_at: new Date(acceptedAt) }]);
    await world.publish(taskId, {
      'org.openpenpal.platform.CourierTaskAccepted': { taskId, courierId: `${tag}-c`, acceptedAt },
    });

    await waitFor(() => resultsFor(world!, taskId).length === 1, {
      what: 'the timeout event',
      timeoutMs: 30_000,
    });
    const state = await taskState(world.pg, taskId);
    expect(state?.timeout_count).toBe(1);
    expect(state!.last_timeout_notice_at!.getTime()).toBeGreaterThanOrEqual(acceptedAt + HOUR - 50);
    expect(resultsFor(world, taskId)[0]!.value!.event).toEqual({
      'org.openpenpal.platform.CourierTaskTimedOut': {
        courierId: `user-${tag}-c`,
        acceptedAt,
        deadline: acceptedAt + HOUR,
        timeoutCount: 1,
      },
    });
    await waitFor(() => noticesFor(world!, `user-${tag}-c`).length === 1, { what: 'the reminder' });
    const notice = noticesFor(world, `user-${tag}-c`)[0]!.value!;
    expect(notice.type).toBe('courier_timeout_reminder');
    expect(notice.data).toMatchObject({
      timeout_hours: '1',
      letter_code: `****${`LC${taskId.slice(-6)}`.slice(-4)}`,
    });
    // The next reminder is pending at now + timeout.
    const { rows } = await world.pg.pool.query<{ due_at: Date; state: string }>(
      'SELECT due_at, state FROM scheduler_courier_timeout_checks WHERE task_id = $1',
      [taskId],
    );
    expect(rows[0]?.state).toBe('pending');
    expect(rows[0]!.due_at.getTime()).toBeGreaterThan(Date.now() + HOUR - 60_000);
  });

  it('reassigns after the reminders to the eligible courier of the lowest level with the fewest active tasks', async () => {
    world = await startCourierWorld(stack);
    const id = await zone(world, uniqueName('ct'));
    const taskId = id('late');
    await insertTasks(world.pg, [
      {
        id: taskId,
        courier_id: id('holder'),
        accepted_at: new Date(Date.now() - 150 * HOUR),
        timeout_count: 2,
        last_timeout_notice_at: new Date(Date.now() - 49 * HOUR),
      },
    ]);
    await world.trigger(exactTrigger(taskId, Date.now()));

    await waitFor(() => resultsFor(world!, taskId).length === 1, {
      what: 'the reassignment',
      timeoutMs: 30_000,
    });
    expect(resultsFor(world, taskId)[0]!.value!.event).toMatchObject({
      'org.openpenpal.platform.CourierTaskReassigned': {
        previousCourierId: `user-${id('holder')}`,
        newCourierId: `user-${id('free')}`,
        reason: 'timeout: 2 reminders without delivery',
      },
    });
    const state = await taskState(world.pg, taskId);
    expect(state).toMatchObject({ courier_id: id('free'), timeout_count: 0, last_timeout_notice_at: null });
    expect(Math.abs(state!.accepted_at!.getTime() - Date.now())).toBeLessThan(30_000);
    expect(state!.deadline!.getTime() - state!.accepted_at!.getTime()).toBe(48 * HOUR);
    expect(await histories(world.pg, taskId)).toEqual([
      {
        previous_courier_id: id('holder'),
        new_courier_id: id('free'),
        assignment_type: 'auto_reassign',
        reassignment_reason: 'timeout: 2 reminders without delivery',
      },
    ]);
    await waitFor(
      () =>
        noticesFor(world!, `user-${id('holder')}`).length === 1 &&
        noticesFor(world!, `user-${id('free')}`).length === 1,
      { what: 'both couriers told' },
    );
    expect(noticesFor(world, `user-${id('holder')}`)[0]!.value).toMatchObject({
      type: 'task_reassigned',
      data: { role: 'previous' },
    });
    expect(noticesFor(world, `user-${id('free')}`)[0]!.value).toMatchObject({
      type: 'task_reassigned',
      data: { role: 'new' },
    });
  });

  it('goes up a level when no building courier is eligible, and escalates to the managing courier when nobody is', async () => {
    world = await startCourierWorld(stack);
    const tag = uniqueName('ct');
    await insertCouriers(world.pg, [
      { id: `${tag}-holder`, level: 1, prefix: 'QX1A2B' },
      { id: `${tag}-school`, level: 3, prefix: 'QX1' },
      { id: `${tag}-area`, level: 2, prefix: 'QX1A' },
      { id: `${tag}-lonely`, level: 1, prefix: 'ZZ9Y8X' },
      { id: `${tag}-tired-area`, level: 2, prefix: 'ZZ9Y', rating: 2.5 },
    ]);
    const late = { accepted_at: new Date(Date.now() - 150 * HOUR), timeout_count: 2 };
    await insertTasks(world.pg, [
      { id: `${tag}-up`, courier_id: `${tag}-holder`, op_code: 'QX1A2B', ...late },
      { id: `${tag}-none`, courier_id: `${tag}-lonely`, op_code: 'ZZ9Y8X', ...late },
    ]);
    await world.trigger(sweepTrigger());

    await waitFor(
      () => resultsFor(world!, `${tag}-up`).length === 1 && resultsFor(world!, `${tag}-none`).length === 1,
      {
        what: 'both handled',
        timeoutMs: 30_000,
      },
    );
    expect((await taskState(world.pg, `${tag}-up`))?.courier_id).toBe(`${tag}-area`);
    // Nobody eligible: the task stays, the zone's managing courier (level 2, even rated low) is told.
    expect(resultsFor(world, `${tag}-none`)[0]!.value!.event).toMatchObject({
      'org.openpenpal.platform.CourierTaskEscalated': {
        courierId: `user-${tag}-lonely`,
        zoneCode: 'zone-1',
        managerUserId: `user-${tag}-tired-area`,
      },
    });
    const none = await taskState(world.pg, `${tag}-none`);
    expect(none).toMatchObject({ courier_id: `${tag}-lonely`, timeout_count: 2 });
    expect(await histories(world.pg, `${tag}-none`)).toEqual([]);
    await waitFor(() => noticesFor(world!, `user-${tag}-tired-area`).length === 1, {
      what: 'the manager told',
    });
    expect(noticesFor(world, `user-${tag}-tired-area`)[0]!.value).toMatchObject({
      type: 'task_reassignment_needed',
      data: { zone_code: 'zone-1' },
    });
    expect(world.notifications.messages.some((m) => m.value?.user_id === 'admin')).toBe(false);
  });

  it('reminds once and notifies once when the same trigger comes twice and the sweep runs too', async () => {
    world = await startCourierWorld(stack);
    const tag = uniqueName('ct');
    await insertCouriers(world.pg, [{ id: `${tag}-c`, level: 1, prefix: 'PK5F3D' }]);
    const acceptedAt = Date.now() - 49 * HOUR;
    const taskId = `${tag}-task`;
    await insertTasks(world.pg, [{ id: taskId, courier_id: `${tag}-c`, accepted_at: new Date(acceptedAt) }]);
    const trigger = exactTrigger(taskId, acceptedAt + 48 * HOUR);
    await world.trigger(trigger);
    await world.trigger(trigger);
    await world.trigger(sweepTrigger());

    await waitFor(() => resultsFor(world!, taskId).length >= 1, { what: 'the reminder', timeoutMs: 30_000 });
    await settle();
    expect(new Set(resultsFor(world, taskId).map((m) => m.headers['message-id'])).size).toBe(1);
    expect(new Set(noticesFor(world, `user-${tag}-c`).map((m) => m.value?.notification_id)).size).toBe(1);
    expect((await taskState(world.pg, taskId))?.timeout_count).toBe(1);
  });

  it('never reassigns a task delivered just before its deadline, also when the delivery holds the row', async () => {
    world = await startCourierWorld(stack);
    const id = await zone(world, uniqueName('ct'));
    const late = { accepted_at: new Date(Date.now() - 150 * HOUR), timeout_count: 2 };
    await insertTasks(world.pg, [
      { id: id('delivered'), courier_id: id('holder'), status: 'delivered', ...late },
      { id: id('racing'), courier_id: id('holder'), ...late },
    ]);
    // The delivery is committing while the check runs: the check waits for the row, then sees it.
    const delivery = await world.pg.pool.connect();
    await delivery.query('BEGIN');
    await delivery.query(
      `UPDATE courier_tasks SET status = 'delivered', completed_at = now() WHERE id = $1`,
      [id('racing')],
    );
    await world.trigger(exactTrigger(id('delivered'), Date.now()));
    await world.trigger(exactTrigger(id('racing'), Date.now()));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await delivery.query('COMMIT');
    delivery.release();

    await waitFor(
      () =>
        world!.executions.messages.filter(
          (m) => m.value && 'org.openpenpal.scheduler.ExecutionSkipped' in m.value.event,
        ).length === 2,
      { what: 'both checks skipped', timeoutMs: 30_000 },
    );
    expect(await histories(world.pg, id('delivered'))).toEqual([]);
    expect(await histories(world.pg, id('racing'))).toEqual([]);
    expect((await taskState(world.pg, id('racing')))?.courier_id).toBe(id('holder'));
    expect(resultsFor(world, id('racing'))).toHaveLength(0);
  });

  it('cancels the pending check when the task is delivered', async () => {
    world = await startCourierWorld(stack, { HANDLER_COURIER_TIMEOUT_CHECK_TIMEOUT_HOURS: '1' });
    const tag = uniqueName('ct');
    await insertCouriers(world.pg, [{ id: `${tag}-c`, level: 1, prefix: 'PK5F3D' }]);
    const acceptedAt = Date.now() - HOUR + 4_000;
    const taskId = `${tag}-task`;
    await insertTasks(world.pg, [{ id: taskId, courier_id: `${tag}-c`, accepted_at: new Date(acceptedAt) }]);
    await world.publish(taskId, {
      'org.openpenpal.platform.CourierTaskAccepted': { taskId, courierId: `${tag}-c`, acceptedAt },
    });
    await waitFor(
      async () =>
        (
          await world!.pg.pool.query('SELECT 1 FROM scheduler_courier_timeout_checks WHERE task_id = $1', [
            taskId,
          ])
        ).rowCount === 1,
      { what: 'the pending check' },
    );
    await world.pg.pool.query(`UPDATE courier_tasks SET status = 'delivered' WHERE id = $1`, [taskId]);
    await world.publish(taskId, {
      'org.openpenpal.platform.CourierTaskDelivered': { taskId, deliveredAt: Date.now() },
    });
    await waitFor(
      async () =>
        (
          await world!.pg.pool.query<{ state: string }>(
            'SELECT state FROM scheduler_courier_timeout_checks WHERE task_id = $1',
            [taskId],
          )
        ).rows[0]?.state === 'closed',
      { what: 'the check closed' },
    );
    // Past the due time: the cancelled check never ran.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(
      world.executions.messages.filter(
        (m) => m.value?.execution_id === exactExecutionId('courier_timeout_check', taskId, acceptedAt + HOUR),
      ),
    ).toHaveLength(0);
    expect(resultsFor(world, taskId)).toHaveLength(0);
  });

  it('reassigns a task once when two replicas and concurrent checks race for it', async () => {
    world = await startCourierWorld(stack);
    await world.startReplica();
    const id = await zone(world, uniqueName('ct'));
    const taskId = id('late');
    await insertTasks(world.pg, [
      {
        id: taskId,
        courier_id: id('holder'),
        accepted_at: new Date(Date.now() - 150 * HOUR),
        timeout_count: 2,
      },
    ]);
    // Different executions (exact, sweep, another exact time) reach both replicas at once.
    await Promise.all([
      world.trigger(exactTrigger(taskId, Date.now() - 1_000)),
      world.trigger(exactTrigger(taskId, Date.now() - 2_000)),
      world.trigger(sweepTrigger()),
    ]);
    // And the repository itself, called concurrently (as replicas would).
    const repository = createCourierTimeoutRepository({ pool: world.pg.pool, schema: world.pg.schema });
    const producer = createProducer({
      kafka: world.kafka.kafka,
      contracts: createContracts(),
      logger: pino({ level: 'silent' }),
    });
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, () =>
        repository.check({
          taskId,
          now: new Date(),
          timeoutMs: 48 * HOUR,
          reassignAfterReminders: 2,
          capTimezone: 'Asia/Shanghai',
          nextCheckId: checkMessageId,
          messages: (outcome) =>
            checkMessages(
              producer,
              {
                results: {
                  topic: world!.env.HANDLER_COURIER_TIMEOUT_CHECK_RESULTS_TOPIC!,
                  schema: 'CourierTaskTimeoutEvent',
                },
                notifications: {
                  topic: world!.env.HANDLER_COURIER_TIMEOUT_CHECK_NOTIFICATIONS_TOPIC!,
                  schema: 'NotificationRequested',
                },
              },
              { executionId: '00000000-0000-4000-8000-000000000000', timeoutHours: 48, now: new Date() },
              outcome,
            ),
        }),
      ),
    );
    await producer.close();
    await waitFor(() => resultsFor(world!, taskId).length >= 1, {
      what: 'the reassignment',
      timeoutMs: 30_000,
    });
    await settle();
    expect(await histories(world.pg, taskId)).toHaveLength(1);
    expect(resultsFor(world, taskId)).toHaveLength(1);
    expect(noticesFor(world, `user-${id('free')}`)).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'reassigned').length).toBeLessThanOrEqual(1);
  });

  it('refuses events for a missing task or with a bad id, dead-letters a check whose delay is out of range, and goes on', async () => {
    world = await startCourierWorld(stack, { HANDLER_COURIER_TIMEOUT_CHECK_TIMEOUT_HOURS: '1' });
    const tag = uniqueName('ct');
    const missing = `${tag}-missing`;
    await world.publish(missing, {
      'org.openpenpal.platform.CourierTaskAccepted': {
        taskId: missing,
        courierId: 'c',
        acceptedAt: Date.now(),
      },
    });
    await world.publish('', {
      'org.openpenpal.platform.CourierTaskDelivered': { taskId: '', deliveredAt: Date.now() },
    });
    await world.trigger(exactTrigger(missing, Date.now(), { timeout_hours: 0, reassign_after_reminders: 2 }));
    // A good event after the bad ones is still handled.
    await insertCouriers(world.pg, [{ id: `${tag}-c`, level: 1, prefix: 'PK5F3D' }]);
    const taskId = `${tag}-ok`;
    const acceptedAt = Date.now() - HOUR;
    await insertTasks(world.pg, [{ id: taskId, courier_id: `${tag}-c`, accepted_at: new Date(acceptedAt) }]);
    await world.publish(taskId, {
      'org.openpenpal.platform.CourierTaskAccepted': { taskId, courierId: `${tag}-c`, acceptedAt },
    });

    await waitFor(() => world!.rejections.messages.length === 2, {
      what: 'two rejections',
      timeoutMs: 30_000,
    });
    const reasons = world.rejections.messages.map((m) => m.value!);
    expect(reasons.find((r) => r.subjectId === missing)).toMatchObject({
      errorCode: 'NOT_FOUND',
      eventType: 'CourierTaskAccepted',
      reason: `courier task ${missing} does not exist`,
    });
    expect(reasons.find((r) => r.subjectId === null)).toMatchObject({
      errorCode: 'VALIDATION_FAILED',
      reason: 'taskId: must not be empty',
    });
    await waitFor(() => world!.dlq.messages.length === 1, { what: 'the bad payload dead-lettered' });
    expect(world.dlq.messages[0]!.headers['dlq.error.code']).toBe('VALIDATION_FAILED');
    await waitFor(() => resultsFor(world!, taskId).length === 1, { what: 'the good task reminded' });
  });
});
