import { ApiError, BASE, call, session } from './api.ts';
import { h } from './dom.ts';
import { delaysPage } from './pages/delays.ts';
import { executionPage, executionsPage } from './pages/executions.ts';
import { overviewPage } from './pages/overview.ts';
import { tasksPage } from './pages/tasks.ts';
import { state, type Page } from './state.ts';

const REFRESH_MS = 5_000;
const root = document.querySelector<HTMLDivElement>('#app') ?? document.body;

const PAGES: { path: string; title: string; page: Page }[] = [
  { path: 'tasks', title: 'Tasks', page: tasksPage },
  { path: 'executions', title: 'Executions', page: executionsPage },
  { path: 'overview', title: 'Overview', page: overviewPage },
  { path: 'delays', title: 'Delay queue', page: delaysPage },
];

function route(): { path: string; page: Page; arg: string | undefined } {
  const [pathPart = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [path = 'tasks', arg] = pathPart.split('/').map(decodeURIComponent);
  if (path === 'executions' && arg) return { path, page: executionPage, arg };
  const found = PAGES.find((p) => p.path === path);
  return found ? { path: found.path, page: found.page, arg } : { path: 'tasks', page: tasksPage, arg };
}

function signIn(message?: string): void {
  const token = h('input', { name: 'token', type: 'password', autocomplete: 'off', required: true });
  const jaeger = h('input', { name: 'jaeger', type: 'url', value: session.jaegerUrl });
  const error = h('div', { class: 'error', hidden: message === undefined }, message ?? '');
  const form = h(
    'form',
    {
      class: 'signin',
      onsubmit: (event) => {
        event.preventDefault();
        session.token = token.value.trim();
        session.jaegerUrl = jaeger.value.trim() || session.jaegerUrl;
        call('GET', `${BASE}/stats`)
          .then(() => start())
          .catch((cause: unknown) => {
            session.token = null;
            error.hidden = false;
            error.textContent = cause instanceof ApiError ? cause.describe() : String(cause);
          });
      },
    },
    h('h2', {}, 'Sign in to the scheduler console'),
    h('label', {}, 'API token (a JWT with an operator role)', token),
    h('label', {}, 'Jaeger URL (for trace links)', jaeger),
    error,
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'),
  );
  root.replaceChildren(form);
}

let timer: ReturnType<typeof setTimeout> | undefined;
let main: HTMLElement | undefined;

async function render(): Promise<void> {
  clearTimeout(timer);
  if (!main) return;
  const current = route();
  for (const link of document.querySelectorAll<HTMLAnchorElement>('header nav a')) {
    link.classList.toggle('active', link.dataset.path === current.path);
  }
  const view = h('div', {});
  try {
    await current.page(view, current.arg, render);
    main.replaceChildren(view);
  } catch (cause) {
    if (cause instanceof ApiError && cause.status === 401) {
      session.token = null;
      main = undefined;
      signIn('Your token was refused (expired or invalid): sign in again.');
      return;
    }
    main.replaceChildren(
      h('div', { class: 'error' }, cause instanceof ApiError ? cause.describe() : String(cause)),
    );
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

/** Live refresh: the current page is read again unless the operator is editing something. */
function refresh(): void {
  if (state.editing) {
    timer = setTimeout(refresh, REFRESH_MS);
    return;
  }
  void render();
}

function start(): void {
  main = h('main', {});
  const header = h(
    'header',
    {},
    h('h1', {}, 'Scheduler console'),
    h('nav', {}, ...PAGES.map((p) => h('a', { href: `#/${p.path}`, 'data-path': p.path }, p.title))),
    h(
      'span',
      { class: 'who' },
      `live, every ${REFRESH_MS / 1000} s · `,
      h(
        'button',
        {
          onclick: () => {
            session.token = null;
            main = undefined;
            signIn();
          },
        },
        'Sign out',
      ),
    ),
  );
  root.replaceChildren(header, main);
  void render();
}

window.addEventListener('hashchange', () => {
  state.editing = false;
  void render();
});

if (session.token) start();
else signIn();
