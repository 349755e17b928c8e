import type { LetterMovedToCleanup } from '@openpenpal/contracts';
import { waitFor } from '@openpenpal/test-kit';
import { describe, expect, it } from 'vitest';
import { executionHistory, resultOf, useSystem, waitForExecution } from '../src/context.ts';

const { api, kafka, platform } = useSystem();
const DAY = 24 * 60 * 60 * 1000;

describe('the letter cleanup, run now from the API', () => {
  it('moves an old unsent draft to draft_cleanup once, tells its author, and records the run', async () => {
    const author = await platform.createUser();
    const oldDraft = await platform.createLetter({
      userId: author,
      status: 'draft',
      createdAt: new Date(Date.now() - 10 * DAY),
    });
    const freshDraft = await platform.createLetter({
      userId: author,
      status: 'draft',
      createdAt: new Date(Date.now() - DAY),
    });
    const cleanup = await kafka.watch(['openpenpal.letters.cleanup']);

    const accepted = await api.expect<{ accepted: boolean; id: string }>(
      202,
      'POST',
      '/api/v1/scheduler/tasks/letter_cleanup/execute',
      { body: { reason: 'e2e: run now', payload_override: { days_old: 7 } } },
    );
    expect(accepted.accepted).toBe(true);

    const [moved] = await cleanup.waitFor((m) => m.key === oldDraft, {
      what: `LetterMovedToCleanup for ${oldDraft}`,
    });
    const value = moved?.value as LetterMovedToCleanup;
    expect(value).toMatchObject({ letterId: oldDraft, authorId: author, previousStatus: 'draft' });
    expect(value.permanentDeletionAt - value.cleanupAt).toBe(7 * DAY);

    const rows = await platform.rows<{ id: string; status: string; cleanup_at: Date | null }>(
      'SELECT id, status, cleanup_at FROM openpenpal.letters WHERE id = ANY($1) ORDER BY id',
      [[oldDraft, freshDraft]],
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual({
      [oldDraft]: 'draft_cleanup',
      [freshDraft]: 'draft',
    });

    // The run-now is an execution of the seeded task, fired by the ticker (source run_now).
    const execution = await waitForExecution(
      api,
      'task_id=letter_cleanup&limit=50',
      (e) => e.source === 'run_now' && e.status === 'succeeded' && e.execution_id === value.executionId,
      { what: 'the run-now execution of letter_cleanup' },
    );
    expect(resultOf(execution).moved).toBeGreaterThanOrEqual(1);
    const history = await executionHistory(api, execution.execution_id);
    // The ticker's and the handler's events may be recorded in either order (docs/event-sourcing.md).
    expect(history.events.map((e) => e.type).sort()).toEqual([
      'ExecutionStarted',
      'ExecutionSucceeded',
      'TaskTriggered',
    ]);

    await waitFor(
      async () =>
        (
          await platform.rows('SELECT 1 FROM openpenpal.notifications WHERE user_id = $1 AND type = $2', [
            author,
            'letter_cleanup_notice',
          ])
        ).length === 1,
      { what: `the cleanup notice to ${author}`, timeoutMs: 30_000, intervalMs: 200 },
    );

    // A second run finds nothing of this author's to move: the letter moves, and its author hears, once.
    await api.expect(202, 'POST', '/api/v1/scheduler/tasks/letter_cleanup/execute', {
      body: { reason: 'e2e: again' },
    });
    await waitForExecution(
      api,
      'task_id=letter_cleanup&limit=50',
      (e) => e.source === 'run_now' && e.status === 'succeeded' && e.execution_id !== value.executionId,
      { what: 'the second run-now of letter_cleanup' },
    );
    expect(cleanup.messages.filter((m) => m.key === oldDraft)).toHaveLength(1);
    const notices = await platform.rows('SELECT 1 FROM openpenpal.notifications WHERE user_id = $1', [
      author,
    ]);
    expect(notices).toHaveLength(1);
  });
});
