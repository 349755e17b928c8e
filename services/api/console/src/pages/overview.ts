import {
  ADMIN,
  BASE,
  call,
  executionsSince,
  type DelayStats,
  type Execution,
  type SchedulerStatus,
} from '../api.ts';
import { h, svg } from '../dom.ts';
import { duration, formatIn, percentile } from '../schedule.ts';
import type { Page } from '../state.ts';

const WINDOW_MIN = 30;
const COLORS: Record<string, string> = {
  succeeded: '#2e8b57',
  failed: '#c0392b',
  dead_lettered: '#7b241c',
  triggered: '#2e6fd6',
  running: '#5dade2',
  retry_scheduled: '#d68910',
  missed: '#95a5a6',
  skipped: '#bdc3c7',
};

/** Executions per minute (by their nominal or last update time) as stacked bars, by status. */
function perMinuteChart(executions: Execution[], now: number): SVGElement {
  const start = Math.floor(now / 60_000) - WINDOW_MIN + 1;
  const buckets = Array.from({ length: WINDOW_MIN }, () => new Map<string, number>());
  for (const e of executions) {
    const at = Date.parse(e.nominal_time ?? e.updated_at);
    const index = Math.floor(at / 60_000) - start;
    const bucket = buckets[index];
    if (bucket) bucket.set(e.status, (bucket.get(e.status) ?? 0) + 1);
  }
  const max = Math.max(1, ...buckets.map((b) => [...b.values()].reduce((a, c) => a + c, 0)));
  const width = 300;
  const height = 120;
  const bar = width / WINDOW_MIN;
  const bars: SVGElement[] = [];
  buckets.forEach((bucket, i) => {
    let y = height;
    for (const [status, count] of bucket) {
      const hgt = (count / max) * (height - 10);
      y -= hgt;
      bars.push(
        svg(
          'rect',
          { x: i * bar + 1, y, width: bar - 2, height: hgt, fill: COLORS[status] ?? '#888' },
          svg('title', {}, `${status}: ${count}`),
        ),
      );
    }
  });
  return svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${height + 14}`,
      role: 'img',
      'aria-label': 'executions per minute by status',
      'data-testid': 'per-minute',
    },
    ...bars,
    svg('text', { x: 0, y: height + 12, 'font-size': 9 }, `−${WINDOW_MIN} min`),
    svg('text', { x: width - 20, y: height + 12, 'font-size': 9 }, 'now'),
    svg('text', { x: 0, y: 9, 'font-size': 9 }, `max ${max}/min`),
  );
}

function p95Chart(executions: Execution[]): SVGElement {
  const byType = new Map<string, number[]>();
  for (const e of executions) {
    if (e.duration_ms === null) continue;
    byType.set(e.task_type, [...(byType.get(e.task_type) ?? []), e.duration_ms]);
  }
  const rows = [...byType].map(([type, values]) => ({
    type,
    p95: percentile(values, 95) ?? 0,
    n: values.length,
  }));
  const max = Math.max(1, ...rows.map((r) => r.p95));
  const width = 300;
  const line = 18;
  return svg(
    'svg',
    {
      viewBox: `0 0 ${width} ${Math.max(1, rows.length) * line + 4}`,
      role: 'img',
      'aria-label': 'p95 duration by task type',
      'data-testid': 'p95',
    },
    ...(rows.length === 0
      ? [svg('text', { x: 0, y: 14, 'font-size': 10 }, 'no finished executions yet')]
      : []),
    ...rows.flatMap((r, i) => [
      svg('rect', {
        x: 120,
        y: i * line + 3,
        width: Math.max(1, (r.p95 / max) * 120),
        height: line - 6,
        fill: '#2e6fd6',
      }),
      svg('text', { x: 0, y: i * line + 14, 'font-size': 10 }, r.type),
      svg('text', { x: 244, y: i * line + 14, 'font-size': 10 }, `${duration(r.p95)} (n=${r.n})`),
    ]),
  );
}

const card = (title: string, ...body: (Node | string)[]) =>
  h('div', { class: 'card' }, h('h3', {}, title), ...body);

export const overviewPage: Page = async (view, _arg, rerender) => {
  const now = Date.now();
  const [status, delays, recent, failed] = await Promise.all([
    call<SchedulerStatus>('GET', `${ADMIN}/status`),
    call<DelayStats>('GET', `${BASE}/delayed-messages/stats`),
    executionsSince(now - WINDOW_MIN * 60_000, 1_000),
    executionsSince(now - 24 * 3_600_000, 500, 'failed'),
  ]);
  const legend = h(
    'div',
    { class: 'legend' },
    ...Object.entries(COLORS).map(([name, color]) => {
      const swatch = h('i', {});
      swatch.style.background = color;
      return h('span', {}, swatch, name);
    }),
  );
  const toggle = h(
    'button',
    {
      class: status.paused ? 'primary' : 'danger',
      'data-testid': 'pause-toggle',
      onclick: () => {
        void call('POST', `${ADMIN}/${status.paused ? 'resume' : 'pause'}`, { body: {} }).then(() =>
          setTimeout(() => void rerender(), 1_000),
        );
      },
    },
    status.paused ? 'Resume' : 'Pause',
  );
  view.append(
    h('h2', {}, 'Overview'),
    h(
      'div',
      { class: 'cards' },
      card(
        'Scheduler',
        h('div', { class: 'big', 'data-testid': 'scheduler-state' }, status.paused ? 'paused' : 'running'),
        h(
          'p',
          { class: 'muted' },
          status.leader ? `leader ${status.leader.instance}` : 'no leader',
          ` · ${status.task_count} active tasks · lag ${duration(status.lag_ms)}`,
        ),
        status.paused_since
          ? h(
              'p',
              { class: 'muted' },
              `paused since ${formatIn(status.paused_since)} by ${status.paused_by ?? '?'}`,
            )
          : '',
        toggle,
      ),
      card(
        'Delay queue',
        h('div', { class: 'big' }, String(delays.pending)),
        h(
          'p',
          { class: 'muted' },
          `pending · ${delays.in_flight} in flight · ${delays.overdue} overdue (late)`,
        ),
        h('a', { href: '#/delays' }, 'open the delay queue'),
      ),
      card(
        'Failures, last 24 h',
        h(
          'div',
          { class: 'big', 'data-testid': 'failures-24h' },
          `${failed.length}${failed.length >= 500 ? '+' : ''}`,
        ),
        h('a', { href: '#/executions?status=failed' }, 'see failed executions'),
      ),
    ),
    h(
      'div',
      { class: 'cards' },
      card(`Executions per minute, last ${WINDOW_MIN} min`, perMinuteChart(recent, now), legend),
      card('p95 duration per task type (last 30 min)', p95Chart(recent)),
      card(
        'Next runs',
        h('ol', {}, ...status.next_runs.map((r) => h('li', {}, `${r.name} — ${formatIn(r.next_run_at)}`))),
      ),
    ),
  );
};
