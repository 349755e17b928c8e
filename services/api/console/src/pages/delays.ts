import { ApiError, BASE, call, type DelayStats, type DelayedMessage } from '../api.ts';
import { h, table } from '../dom.ts';
import { formatIn } from '../schedule.ts';
import type { Page } from '../state.ts';

export const delaysPage: Page = async (view, _arg, rerender) => {
  const [stats, due] = await Promise.all([
    call<DelayStats>('GET', `${BASE}/delayed-messages/stats`),
    call<{ messages: DelayedMessage[] }>('GET', `${BASE}/delayed-messages?limit=100`),
  ]);
  const message = h('div', { class: 'error', hidden: true });
  const now = Date.now();
  const byTopic = Object.entries(stats.by_topic).map(([topic, count]) =>
    h('tr', {}, h('td', {}, topic), h('td', {}, String(count))),
  );
  const rows = due.messages.map((m) => {
    const late = now - Date.parse(m.due_at);
    return h(
      'tr',
      { 'data-message-id': m.message_id },
      h('td', {}, m.message_id),
      h(
        'td',
        {},
        formatIn(m.due_at),
        late > 0 ? h('small', {}, `late by ${Math.round(late / 1000)} s`) : null,
      ),
      h('td', {}, m.state),
      h('td', {}, m.target_topic ?? '—', h('small', {}, m.key ?? '')),
      h('td', {}, String(m.attempts)),
      h(
        'td',
        {},
        h(
          'button',
          {
            class: 'danger',
            onclick: () => {
              call('DELETE', `${BASE}/delayed-messages/${encodeURIComponent(m.message_id)}?reason=console`)
                .then(rerender)
                .catch((cause: unknown) => {
                  message.hidden = false;
                  message.textContent = cause instanceof ApiError ? cause.describe() : String(cause);
                });
            },
          },
          'Cancel',
        ),
      ),
    );
  });
  view.append(
    h('h2', {}, 'Delay queue'),
    h(
      'p',
      { class: 'muted' },
      `${stats.pending} pending · ${stats.in_flight} in flight · ${stats.overdue} overdue${stats.complete ? '' : ' (counts partial)'}`,
    ),
    message,
    table(['Target topic', 'Messages'], byTopic, 'delay-topics'),
    h('h2', {}, 'Next 100 due'),
    table(['Message', 'Due', 'State', 'Target', 'Attempts', ''], rows, 'delayed'),
  );
};
