import type { EventStore } from '@openpenpal/event-store';
import { migrateReadModels, readModelNames } from '@openpenpal/recorder/read-models';
import { createPgTestContext, type PgTestContext } from '@openpenpal/test-kit';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createExecutionReads } from '../src/read/executions.ts';

const stack = inject('stack');

interface PlanNode {
  'Node Type': string;
  Plans?: PlanNode[];
}

function nodeTypes(node: PlanNode): string[] {
  return [node['Node Type'], ...(node.Plans ?? []).flatMap(nodeTypes)];
}

describe('the execution list', () => {
  let pgCtx: PgTestContext;
  beforeAll(async () => {
    pgCtx = await createPgTestContext(stack);
    await migrateReadModels(pgCtx.pool, readModelNames(pgCtx.schema));
    // 50 tasks × 1,000 executions: enough rows that a sort of the table would be planned if no
    // index gave the order.
    await pgCtx.pool.query(
      `INSERT INTO "${pgCtx.schema}".executions
         (execution_id, task_id, task_type, status, attempts, progress, updated_at)
       SELECT 'e-' || g, 'task-' || (g % 50), 'letter_cleanup',
              CASE WHEN g % 7 = 0 THEN 'failed' ELSE 'succeeded' END, 1, 100,
              now() - g * interval '1 second'
         FROM generate_series(1, 50000) AS g`,
    );
    await pgCtx.pool.query(`ANALYZE "${pgCtx.schema}".executions`);
  });
  afterAll(async () => {
    await pgCtx.close();
  });

  /** The plan PostgreSQL makes for the query the API sends for `filters`. */
  async function planOf(filters: Parameters<ReturnType<typeof createExecutionReads>['list']>[0]) {
    const sent: { text: string; values: unknown[] }[] = [];
    const spy = {
      query: (text: string, values: unknown[]) => {
        sent.push({ text, values });
        return pgCtx.pool.query(text, values);
      },
    } as unknown as pg.Pool;
    const page = await createExecutionReads(spy, pgCtx.schema, {} as EventStore).list(filters);
    const [query] = sent;
    const explained = await pgCtx.pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (FORMAT JSON) ${query!.text}`,
      query!.values,
    );
    return { page, nodes: nodeTypes(explained.rows[0]!['QUERY PLAN'][0].Plan) };
  }

  it('reads a page of all executions, newest first, from an index instead of sorting the table', async () => {
    const { page, nodes } = await planOf({ limit: 50 });
    expect(page.executions).toHaveLength(50);
    expect(page.executions[0]?.execution_id).toBe('e-1');
    expect(nodes).not.toContain('Sort');
    expect(nodes.some((type) => type.includes('Index'))).toBe(true);
  });

  it('reads a page of one task and the page after it from an index instead of sorting', async () => {
    const first = await planOf({ task_id: 'task-3', limit: 20 });
    expect(first.page.executions.map((e) => e.task_id)).toEqual(Array(20).fill('task-3'));
    expect(first.nodes).not.toContain('Sort');
    const next = await planOf({ task_id: 'task-3', limit: 20, cursor: first.page.next_cursor! });
    expect(next.page.executions[0]?.execution_id).not.toBe(first.page.executions[0]?.execution_id);
    expect(next.nodes).not.toContain('Sort');
  });
});
