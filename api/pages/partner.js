// Partner page: the calling organisation's reintegration tasks (GET /partner/tasks) and a form to
// complete one (POST /referrals/:id/actions/complete-task). Every value is inserted as text.
import { api, ApiError, clock, describeError, fill, formatTime, h, keyStore, label, signIn, untilDeadline } from '/console/common.js';

const REFRESH_MS = 30_000;
const NOTES_MAX = 4000;
const DAY_MS = 86_400_000;

const store = keyStore('referral-engine.partner.key');
const app = document.getElementById('app');
const els = {
  session: document.getElementById('session'),
  who: document.getElementById('who'),
  updated: document.getElementById('updated'),
  refresh: document.getElementById('refresh'),
  signout: document.getElementById('signout'),
};

const state = {
  key: '',
  organisation: '',
  tasks: [],
  /** The task whose form is open: `${referralId}/${taskId}`. */
  editing: undefined,
  notice: undefined,
  error: undefined,
  updatedAt: undefined,
  timer: undefined,
  loading: false,
};

const parts = {
  notice: h('p', { class: 'alert alert-ok', role: 'status', id: 'notice', hidden: true }),
  error: h('p', { class: 'alert alert-error', role: 'alert', id: 'error', hidden: true }),
  openTitle: h('h2', { text: 'My open tasks' }),
  open: h('div', { id: 'open-tasks', class: 'table-wrap' }),
  form: h('div', { id: 'task-form-slot' }),
  doneTitle: h('h2', { text: 'Completed' }),
  done: h('div', { id: 'done-tasks', class: 'table-wrap' }),
};

function layout() {
  return h(
    'div',
    { class: 'partner' },
    parts.notice,
    parts.error,
    h('section', { class: 'card' }, parts.openTitle, h('p', { class: 'muted small', text: 'Tasks from agreed reintegration plans, earliest deadline first. Only your organisation’s tasks are listed.' }), parts.open),
    parts.form,
    h('section', { class: 'card' }, parts.doneTitle, parts.done),
  );
}

const keyOf = (t) => `${t.referralId}/${t.taskId}`;

async function refresh() {
  if (state.loading || !state.key) return;
  state.loading = true;
  try {
    const body = await api(state.key, 'GET', '/partner/tasks');
    state.organisation = body.organisation ?? state.organisation;
    state.tasks = body.tasks ?? [];
    state.error = undefined;
    state.updatedAt = new Date();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signOut(describeError(err));
    state.error = `Could not load your tasks: ${describeError(err)}`;
  } finally {
    state.loading = false;
  }
  render();
}

function render() {
  els.updated.textContent = state.updatedAt ? `updated ${clock(state.updatedAt)}` : '';
  parts.notice.hidden = !state.notice;
  parts.notice.textContent = state.notice ?? '';
  parts.error.hidden = !state.error;
  parts.error.textContent = state.error ?? '';
  const open = state.tasks.filter((t) => t.status === 'OPEN').sort((a, b) => a.dueBy.localeCompare(b.dueBy));
  const done = state.tasks.filter((t) => t.status !== 'OPEN').sort((a, b) => (b.completedAt ?? '').localeCompare(a.completedAt ?? ''));
  parts.openTitle.textContent = `My open tasks (${open.length})`;
  parts.doneTitle.textContent = `Completed (${done.length})`;
  if (state.editing && !open.some((t) => keyOf(t) === state.editing)) state.editing = undefined;

  const now = Date.now();
  fill(
    parts.open,
    open.length === 0
      ? h('p', { class: 'muted', id: 'no-open-tasks', text: 'No open tasks. New tasks appear here when a reintegration plan names your organisation.' })
      : h(
          'table',
          { class: 'tasks', id: 'open-table' },
          h('thead', {}, h('tr', {}, ['Referral', 'Task', 'Kind', 'Deadline', 'Status', ''].map((t) => h('th', { scope: 'col', text: t })))),
          h(
            'tbody',
            {},
            open.map((t) => {
              const due = Date.parse(t.dueBy);
              const cls = due < now ? 'breached' : due - now <= DAY_MS ? 'due24' : '';
              const editing = keyOf(t) === state.editing;
              return h(
                'tr',
                { class: `task ${cls}${editing ? ' selected' : ''}`, 'data-task-id': t.taskId, 'data-referral-id': t.referralId },
                h('td', { class: 'mono', text: t.referralId }),
                h('td', { class: 'mono', text: t.taskId }),
                h('td', { text: label(t.kind) }),
                h('td', {}, h('div', { text: formatTime(t.dueBy) }), h('div', { class: cls ? `small ${cls === 'breached' ? 'hot' : 'warm'}` : 'small muted', text: untilDeadline(t.dueBy, now) })),
                h('td', {}, h('span', { class: 'status status-open', text: 'Open' })),
                h('td', { class: 'actions-cell' }, h('button', { type: 'button', class: editing ? '' : 'primary', 'data-complete': t.taskId, onclick: () => openForm(t), text: editing ? 'Completing…' : 'Complete' })),
              );
            }),
          ),
        ),
  );

  fill(
    parts.done,
    done.length === 0
      ? h('p', { class: 'muted', text: 'Nothing completed yet.' })
      : h(
          'table',
          { class: 'tasks', id: 'done-table' },
          h('thead', {}, h('tr', {}, ['Referral', 'Task', 'Kind', 'Deadline', 'Outcome', 'Completed'].map((t) => h('th', { scope: 'col', text: t })))),
          h(
            'tbody',
            {},
            done.map((t) =>
              h(
                'tr',
                { class: 'task', 'data-task-id': t.taskId, 'data-referral-id': t.referralId, 'data-status': t.status },
                h('td', { class: 'mono', text: t.referralId }),
                h('td', { class: 'mono', text: t.taskId }),
                h('td', { text: label(t.kind) }),
                h('td', { text: formatTime(t.dueBy) }),
                h('td', {}, h('span', { class: `status status-${t.status.toLowerCase().replace(/_/g, '-')}`, text: t.status === 'DONE' ? 'Done' : 'Not possible' })),
                h('td', { text: t.completedAt ? formatTime(t.completedAt) : '—' }),
              ),
            ),
          ),
        ),
  );
}

function openForm(task) {
  state.editing = keyOf(task);
  state.notice = undefined;
  render();
  const error = h('p', { class: 'alert alert-error', role: 'alert', id: 'form-error', hidden: true });
  const outcome = h(
    'select',
    { id: 'outcome', name: 'outcome', required: true },
    h('option', { value: 'DONE', text: 'Done' }),
    h('option', { value: 'NOT_POSSIBLE', text: 'Not possible' }),
  );
  const count = h('span', { class: 'muted small', text: `0 / ${NOTES_MAX}` });
  const notes = h('textarea', {
    id: 'notes',
    name: 'notes',
    rows: 4,
    maxlength: NOTES_MAX,
    placeholder: 'What was done, or why it was not possible. Do not write names or contact details.',
    oninput: () => (count.textContent = `${notes.value.length} / ${NOTES_MAX}`),
  });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'submit-task', text: 'Record completion' });
  const form = h(
    'form',
    {
      class: 'card task-form',
      id: 'task-form',
      'data-task-id': task.taskId,
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        error.hidden = true;
        const body = { taskId: task.taskId, outcome: outcome.value, ...(notes.value.trim() ? { notes: notes.value.trim() } : {}) };
        try {
          await api(state.key, 'POST', `/referrals/${encodeURIComponent(task.referralId)}/actions/complete-task`, body);
          state.editing = undefined;
          state.notice = `Task ${task.taskId} of referral ${task.referralId} recorded as ${outcome.value === 'DONE' ? 'done' : 'not possible'}.`;
          fill(parts.form);
          await refresh();
        } catch (err) {
          if (err instanceof ApiError && err.status === 401) return signOut(describeError(err));
          error.hidden = false;
          error.textContent = `Not recorded: ${describeError(err)}`;
          submit.disabled = false;
        }
      },
    },
    h('h2', {}, 'Complete task ', h('span', { class: 'mono', text: task.taskId }), ` (${label(task.kind)})`),
    h('p', { class: 'muted small' }, 'Referral ', h('span', { class: 'mono', text: task.referralId }), ` · due ${formatTime(task.dueBy)} (${untilDeadline(task.dueBy)})`),
    h('div', { class: 'field' }, h('label', { for: 'outcome', text: 'Outcome' }), outcome),
    h('div', { class: 'field' }, h('label', { for: 'notes' }, 'Notes ', h('span', { class: 'muted small', text: '(optional)' })), notes, count),
    error,
    h(
      'div',
      { class: 'actions' },
      submit,
      h('button', {
        type: 'button',
        text: 'Cancel',
        onclick: () => {
          state.editing = undefined;
          fill(parts.form);
          render();
        },
      }),
    ),
  );
  fill(parts.form, form);
  outcome.focus();
}

function signOut(message) {
  store.clear();
  state.key = '';
  clearInterval(state.timer);
  state.timer = undefined;
  state.tasks = [];
  state.editing = undefined;
  state.notice = undefined;
  els.session.hidden = true;
  void start(message);
}

async function start(message) {
  const session = await signIn(app, store, {
    hint: "Enter your organisation's partner API key. It is kept in this tab's session only.",
    message,
  });
  state.key = session.key;
  const who = session.who ?? {};
  els.who.textContent = `${who.id ?? '?'} · ${who.organisation ?? who.agency ?? '?'}`;
  els.session.hidden = false;
  fill(parts.form);
  fill(app, layout());
  await refresh();
  state.timer = setInterval(() => void refresh(), REFRESH_MS);
}

els.refresh.addEventListener('click', () => {
  state.notice = undefined;
  void refresh();
});
els.signout.addEventListener('click', () => signOut());

await start();
