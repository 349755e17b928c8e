import { ApiError, BASE, call, session, type Execution, type RecordedEvent } from '../api.ts';
import { h, table } from '../dom.ts';
import { duration, formatIn } from '../schedule.ts';
import type { Page } from '../state.ts';

const STATUSES = [
  '',
  'missed',
  'triggered',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'retry_scheduled',
  'dead_lettered',
];
const RERUNNABLE = new Set(['failed', 'dead_lettered']);

/** The filters live in the hash (#/executions?task_id=…&status=…), so a link can carry them. */
function filters(): URLSearchParams {
  return new URLSearchParams(location.hash.split('?')[1] ?? '');
}

const badge = (status: string) => h('span', { class: `status ${status}` }, status);

export const executionsPage: Page = async (view) => {
  const current = filters();
  const query = new URLSearchParams({ limit: '50' });
  for (const name of ['task_id', 'status']) {
    const value = current.get(name);
    if (value) query.set(name, value);
  }
  const page = await call<{ executions: Execution[] }>('GET', `${BASE}/executions?${query.toString()}`);
  const taskId = h('input', { name: 'task_id', value: current.get('task_id') ?? '', placeholder: 'task id' });
  const status = h(
    'select',
    { name: 'status' },
    ...STATUSES.map((s) =>
      h('option', { value: s, selected: s === (current.get('status') ?? '') }, s || 'any'),
    ),
  );
  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: (event) => {
        event.preventDefault();
        const next = new URLSearchParams();
        if (taskId.value) next.set('task_id', taskId.value);
        if (status.value) next.set('status', status.value);
        location.hash = `#/executions?${next.toString()}`;
      },
    },
    h('label', {}, 'Task', taskId),
    h('label', {}, 'Status', status),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const rows = page.executions.map((e) =>
    h(
      'tr',
      { 'data-execution-id': e.execution_id, 'data-task-id': e.task_id },
      h(
        'td',
        {},
        h('a', { href: `#/executions/${encodeURIComponent(e.execution_id)}` }, e.execution_id.slice(0, 8)),
        h('small', {}, e.source ?? ''),
      ),
      h('td', {}, e.task_id, h('small', {}, e.task_type)),
      h('td', { 'data-testid': 'status' }, badge(e.status)),
      h('td', {}, String(e.attempts)),
      h('td', {}, e.nominal_time ? formatIn(e.nominal_time) : '—'),
      h('td', {}, duration(e.duration_ms)),
      h('td', {}, e.error_message ?? ''),
    ),
  );
  view.append(
    h('h2', {}, 'Executions'),
    form,
    table(
      ['Execution', 'Task', 'Status', 'Attempts', 'Nominal time', 'Duration', 'Error'],
      rows,
      'executions',
    ),
  );
};

/** The W3C trace id of the first recorded event that carried a traceparent header. */
function traceId(events: RecordedEvent[]): string | undefined {
  for (const event of events) {
    const header = event.metadata.traceparent;
    if (typeof header === 'string') return header.split('-')[1];
  }
  return undefined;
}

function eventLabel(event: RecordedEvent): string {
  return event.type.replace(/^Execution/, '').replace(/^Task/, '');
}

function eventDetail(event: RecordedEvent): string {
  const data = event.data;
  const parts: string[] = [];
  if (typeof data.attempt === 'number') parts.push(`attempt ${data.attempt}`);
  if (typeof data.duration_ms === 'number') parts.push(`ran ${duration(data.duration_ms)}`);
  if (typeof data.error_code === 'string') parts.push(data.error_code);
  if (typeof data.error_message === 'string') parts.push(data.error_message);
  if (typeof data.result === 'string') parts.push(`result ${data.result}`);
  return parts.join(' · ');
}

export const executionPage: Page = async (view, id) => {
  const { execution, events } = await call<{ execution: Execution; events: RecordedEvent[] }>(
    'GET',
    `${BASE}/executions/${encodeURIComponent(id ?? '')}`,
  );
  const trace = traceId(events);
  const message = h('div', { class: 'error', hidden: true });
  const first = events[0] ? Date.parse(events[0].recorded_at) : 0;
  let previous = first;
  const items = events.map((event) => {
    const at = Date.parse(event.recorded_at);
    const since = at - previous;
    previous = at;
    const kind = /Failed|DeadLetter|TimedOut/.test(event.type)
      ? 'failed'
      : /Succeeded/.test(event.type)
        ? 'succeeded'
        : '';
    return h(
      'li',
      { class: kind, 'data-event-type': event.type },
      h('strong', {}, eventLabel(event)),
      ` ${formatIn(event.recorded_at)} (+${duration(since)}, ${duration(at - first)} in)`,
      h('small', {}, eventDetail(event)),
    );
  });
  const rerun = RERUNNABLE.has(execution.status)
    ? h(
        'button',
        {
          class: 'primary',
          onclick: () => {
            call<{ execution_id: string }>(
              'POST',
              `${BASE}/executions/${encodeURIComponent(execution.execution_id)}/rerun`,
              {
                body: {},
              },
            )
              .then((answer) => {
                location.hash = `#/executions/${encodeURIComponent(answer.execution_id)}`;
              })
              .catch((cause: unknown) => {
                message.hidden = false;
                message.textContent = cause instanceof ApiError ? cause.describe() : String(cause);
              });
          },
        },
        'Re-run',
      )
    : null;
  const jaeger = session.jaegerUrl.replace(/\/$/, '');
  view.append(
    h('p', {}, h('a', { href: '#/executions' }, '← executions')),
    h('h2', {}, `Execution ${execution.execution_id}`),
    h(
      'p',
      {},
      badge(execution.status),
      ` task ${execution.task_id} (${execution.task_type}), ${execution.attempts} attempt(s), ${duration(execution.duration_ms)} `,
      trace
        ? h(
            'a',
            {
              href: `${jaeger}/trace/${trace}`,
              target: '_blank',
              rel: 'noopener',
              'data-testid': 'trace-link',
            },
            'trace in Jaeger',
          )
        : h('span', { class: 'muted' }, 'no trace recorded'),
    ),
    h(
      'div',
      { class: 'error', hidden: !execution.error_message },
      `${execution.error_code ?? ''} ${execution.error_message ?? ''}`,
    ),
    message,
    rerun ?? '',
    h('h2', {}, 'Timeline'),
    h('ol', { class: 'timeline', 'data-testid': 'timeline' }, ...items),
  );
};
