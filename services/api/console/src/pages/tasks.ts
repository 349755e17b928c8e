import { ApiError, BASE, call, type Task } from '../api.ts';
import { h, table } from '../dom.ts';
import { formatIn, scheduleInWords } from '../schedule.ts';
import { state, type Page } from '../state.ts';

const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

function successRate(task: Task): string {
  if (task.run_count === 0) return '—';
  return `${Math.round(((task.run_count - task.failure_count) / task.run_count) * 100)}%`;
}

function editForm(task: Task, done: () => Promise<void>): HTMLElement {
  const fields = {
    name: h('input', { name: 'name', value: task.name }),
    cron_expression: h('input', { name: 'cron_expression', value: task.cron_expression ?? '' }),
    timezone: h('input', { name: 'timezone', value: task.timezone }),
    max_retries: h('input', { name: 'max_retries', type: 'number', value: String(task.max_retries) }),
    timeout_secs: h('input', { name: 'timeout_secs', type: 'number', value: String(task.timeout_secs) }),
  };
  const error = h('div', { class: 'error', hidden: true, 'data-testid': 'edit-error' });
  const form = h(
    'form',
    {
      class: 'row',
      'data-testid': 'edit-form',
      onsubmit: (event) => {
        event.preventDefault();
        const body: Record<string, unknown> = {
          name: fields.name.value,
          timezone: fields.timezone.value,
          max_retries: Number(fields.max_retries.value),
          timeout_secs: Number(fields.timeout_secs.value),
        };
        if (task.cron_expression !== null) body.cron_expression = fields.cron_expression.value;
        call('PATCH', `${BASE}/tasks/${encodeURIComponent(task.id)}`, {
          body,
          headers: { 'if-match': `"${task.revision}"` },
        })
          .then(async () => {
            state.editing = false;
            await done();
          })
          .catch((cause: unknown) => {
            error.hidden = false;
            error.textContent = cause instanceof ApiError ? cause.describe() : String(cause);
          });
      },
    },
    h('label', {}, 'Name', fields.name),
    task.cron_expression !== null &&
      h('label', {}, 'Cron (sec min hour dom mon dow)', fields.cron_expression),
    h('label', {}, 'Time zone', fields.timezone),
    h('label', {}, 'Max retries', fields.max_retries),
    h('label', {}, 'Timeout (s)', fields.timeout_secs),
    h('button', { class: 'primary', type: 'submit' }, 'Save'),
    h(
      'button',
      {
        type: 'button',
        onclick: () => {
          state.editing = false;
          void done();
        },
      },
      'Cancel',
    ),
    error,
  );
  return form;
}

export const tasksPage: Page = async (view, _arg, rerender) => {
  const page = await call<{ tasks: Task[]; total: number }>(
    'GET',
    `${BASE}/tasks?page_size=100&sort_by=name&sort_order=asc`,
  );
  const message = h('div', { class: 'error', hidden: true, 'data-testid': 'task-message' });
  const act = (action: () => Promise<unknown>) => () => {
    action()
      .then(rerender)
      .catch((cause: unknown) => {
        message.hidden = false;
        message.textContent = cause instanceof ApiError ? cause.describe() : String(cause);
      });
  };
  const editing = h('div', {});
  const rows = page.tasks.map((task) => {
    const path = `${BASE}/tasks/${encodeURIComponent(task.id)}`;
    return h(
      'tr',
      { 'data-task-id': task.id },
      h(
        'td',
        {},
        h('a', { href: `#/executions?task_id=${encodeURIComponent(task.id)}` }, task.name),
        h('small', {}, task.id),
      ),
      h('td', {}, task.task_type),
      h(
        'td',
        { 'data-testid': 'schedule' },
        scheduleInWords(task.cron_expression, task.timezone, task.scheduled_at),
      ),
      h(
        'td',
        {},
        task.next_run_at === null ? '—' : formatIn(task.next_run_at),
        task.next_run_at !== null && h('small', {}, viewerZone),
        task.next_run_at !== null &&
          h('small', {}, `${formatIn(task.next_run_at, task.timezone)} ${task.timezone}`),
      ),
      h(
        'td',
        {},
        task.last_status ? h('span', { class: `status ${task.last_status}` }, task.last_status) : '—',
      ),
      h('td', {}, successRate(task), h('small', {}, `${task.run_count} runs`)),
      h('td', { 'data-testid': 'active' }, task.is_active ? 'enabled' : 'disabled'),
      h(
        'td',
        {},
        h(
          'button',
          {
            onclick: act(() =>
              call('POST', `${path}/${task.is_active ? 'disable' : 'enable'}`, { body: {} }),
            ),
          },
          task.is_active ? 'Disable' : 'Enable',
        ),
        h('button', { onclick: act(() => call('POST', `${path}/execute`, { body: {} })) }, 'Run now'),
        h(
          'button',
          {
            onclick: () => {
              state.editing = true;
              editing.replaceChildren(h('h2', {}, `Edit ${task.name}`), editForm(task, rerender));
              editing.scrollIntoView();
            },
          },
          'Edit',
        ),
      ),
    );
  });
  view.append(
    h('h2', {}, `Tasks (${page.total})`),
    message,
    editing,
    table(
      [
        'Name',
        'Type',
        'Schedule',
        'Next run (yours / task zone)',
        'Last status',
        'Success',
        'State',
        'Actions',
      ],
      rows,
      'tasks',
    ),
  );
};
