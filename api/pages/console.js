// Operator console: the referrals board by stage and case type, SLA heat, load per lead agency,
// and one referral's merged timeline. Reads GET /referrals and GET /referrals/:id with the
// operator's API key; refreshes itself every 10 s. Every value is inserted as text.
import { ago, api, ApiError, clock, describeError, fill, formatTime, h, keyStore, label, signIn, untilDeadline } from './common.js';

const STAGES = ['ROUTING', 'ROUTED', 'UNROUTED', 'SCREENING', 'IN_PROGRESS', 'CLOSED'];
const CASE_TYPES = ['TRAFFICKING', 'SMUGGLING', 'FRAUDULENT_JOB_AD', 'UNKNOWN'];
const REFRESH_MS = 10_000;
const DAY_MS = 86_400_000;
/** Breached referrals whose detail is read each refresh to show the escalation rung reached. */
const MAX_RUNG_LOOKUPS = 25;

const store = keyStore('referral-engine.console.key');
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
  config: { temporalUiUrl: '', namespace: 'default' },
  referrals: [],
  /** referralId → { rung, step, track } for breached referrals. */
  rungs: new Map(),
  filter: {},
  selected: undefined,
  detail: undefined,
  detailError: undefined,
  error: undefined,
  updatedAt: undefined,
  timer: undefined,
  loading: false,
};

// --- layout (built once; each refresh refills the parts) ---

const parts = {
  error: h('p', { class: 'alert alert-error', role: 'alert', id: 'error', hidden: true }),
  stats: h('div', { class: 'stats', id: 'stats' }),
  board: h('div', { id: 'board' }),
  heat: h('div', { id: 'heat' }),
  load: h('div', { id: 'load' }),
  listTitle: h('h2', { text: 'Referrals' }),
  filterNote: h('div', { class: 'filter-note', id: 'filter-note' }),
  list: h('div', { id: 'list', class: 'table-wrap' }),
  detail: h('aside', { class: 'detail card', id: 'detail', hidden: true, 'aria-live': 'polite' }),
};

function layout() {
  return h(
    'div',
    { class: 'layout', id: 'layout' },
    h(
      'div',
      { class: 'dashboard' },
      parts.error,
      parts.stats,
      h(
        'div',
        { class: 'grid' },
        h('section', { class: 'card span-7' }, h('h2', { text: 'Board by stage and case type' }), h('p', { class: 'muted small', text: 'Open and closed referrals; click a count to filter the list.' }), parts.board),
        h(
          'div',
          { class: 'span-5 stack' },
          h('section', { class: 'card' }, h('h2', { text: 'SLA heat' }), parts.heat),
          h('section', { class: 'card' }, h('h2', { text: 'Load per lead agency' }), parts.load),
        ),
      ),
      h('section', { class: 'card' }, h('div', { class: 'section-head' }, parts.listTitle, parts.filterNote), parts.list),
    ),
    parts.detail,
  );
}

// --- data ---

function heatOf(r, now = Date.now()) {
  if (r.status !== 'RUNNING') return 'closed';
  const due = r.nextDeadline ? Date.parse(r.nextDeadline) : NaN;
  if (r.slaBreached || (!Number.isNaN(due) && due < now)) return 'breached';
  if (!Number.isNaN(due) && due - now <= DAY_MS) return 'due24';
  return Number.isNaN(due) ? 'none' : 'ok';
}

function matches(r) {
  const f = state.filter;
  if (f.stage && (r.stage ?? 'UNKNOWN') !== f.stage) return false;
  if (f.caseType && (r.caseType ?? 'UNKNOWN') !== f.caseType) return false;
  if (f.lead && (r.leadAgency ?? '—') !== f.lead) return false;
  if (f.heat && heatOf(r) !== f.heat) return false;
  return true;
}

function temporalLink(workflowId) {
  const base = state.config.temporalUiUrl;
  if (!base) return undefined;
  return `${base}/namespaces/${encodeURIComponent(state.config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

async function refresh() {
  if (state.loading || !state.key) return;
  state.loading = true;
  try {
    const { referrals } = await api(state.key, 'GET', '/referrals?limit=1000');
    state.referrals = referrals ?? [];
    state.error = undefined;
    await loadRungs();
    if (state.selected) await loadDetail(state.selected, false);
    state.updatedAt = new Date();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signOut(describeError(err));
    state.error = describeError(err);
  } finally {
    state.loading = false;
  }
  render();
}

/** The escalation rung each breached referral reached: the furthest rung fired on any of its clocks. */
async function loadRungs() {
  const breached = state.referrals.filter((r) => heatOf(r) === 'breached').slice(0, MAX_RUNG_LOOKUPS);
  const found = new Map();
  await Promise.all(
    breached.map(async (r) => {
      try {
        const detail = await api(state.key, 'GET', `/referrals/${encodeURIComponent(r.referralId)}`);
        const top = topRung(detail);
        if (top) found.set(r.referralId, top);
      } catch {
        // The heat list still shows the referral, without its rung.
      }
    }),
  );
  state.rungs = found;
}

function clocksOf(detail) {
  return [
    ...(detail.referral?.sla ?? []).map((c) => ({ ...c, track: 'referral' })),
    ...(detail.justice?.sla ?? []).map((c) => ({ ...c, track: 'justice' })),
    ...(detail.protection?.sla ?? []).map((c) => ({ ...c, track: 'protection' })),
  ];
}

/** Rungs fire in ladder order, so the clock with the most fired rungs is the furthest escalated. */
function topRung(detail) {
  let best;
  for (const c of clocksOf(detail)) {
    const fired = c.firedRungs ?? [];
    if (fired.length > 0 && (!best || fired.length > best.level)) best = { level: fired.length, rung: fired[fired.length - 1], step: c.step, track: c.track };
  }
  return best;
}

async function loadDetail(referralId, show = true) {
  try {
    state.detail = await api(state.key, 'GET', `/referrals/${encodeURIComponent(referralId)}`);
    state.detailError = undefined;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    state.detail = undefined;
    state.detailError = describeError(err);
  }
  if (show) renderDetail();
}

async function select(referralId) {
  state.selected = referralId;
  state.detail = undefined;
  state.detailError = undefined;
  renderList();
  renderDetail(true);
  try {
    await loadDetail(referralId);
  } catch (err) {
    signOut(describeError(err));
  }
}

function setFilter(filter) {
  state.filter = filter;
  renderList();
}

// --- rendering ---

function render() {
  parts.error.hidden = !state.error;
  parts.error.textContent = state.error ? `Could not refresh: ${state.error}` : '';
  els.updated.textContent = state.updatedAt ? `updated ${clock(state.updatedAt)}` : '';
  renderStats();
  renderBoard();
  renderHeat();
  renderLoad();
  renderList();
  renderDetail();
}

function renderStats() {
  const open = state.referrals.filter((r) => r.status === 'RUNNING');
  const heat = open.map((r) => heatOf(r));
  const stat = (value, text, cls, filter) =>
    h(
      'button',
      { type: 'button', class: `stat ${cls}`, onclick: () => setFilter(filter), title: 'Show these in the list' },
      h('span', { class: 'stat-value', text: value }),
      h('span', { class: 'stat-label', text }),
    );
  fill(
    parts.stats,
    stat(state.referrals.length, 'referrals', '', {}),
    stat(open.length, 'open', '', {}),
    stat(heat.filter((x) => x === 'breached').length, 'SLA breached', 'stat-breached', { heat: 'breached' }),
    stat(heat.filter((x) => x === 'due24').length, 'due within 24 h', 'stat-due', { heat: 'due24' }),
  );
}

function renderBoard() {
  const counts = new Map();
  const stages = [...STAGES];
  const types = [...CASE_TYPES];
  for (const r of state.referrals) {
    const stage = r.stage ?? 'UNKNOWN';
    const type = r.caseType ?? 'UNKNOWN';
    if (!stages.includes(stage)) stages.push(stage);
    if (!types.includes(type)) types.push(type);
    counts.set(`${stage}|${type}`, (counts.get(`${stage}|${type}`) ?? 0) + 1);
  }
  const shownTypes = types.filter((t) => t !== 'UNKNOWN' || state.referrals.some((r) => (r.caseType ?? 'UNKNOWN') === 'UNKNOWN'));
  const count = (stage, type) => counts.get(`${stage}|${type}`) ?? 0;
  const cell = (stage, type, n) =>
    h(
      'td',
      { class: n > 0 ? 'count' : 'count zero', 'data-stage': stage, 'data-case-type': type ?? 'ALL' },
      n > 0 ? h('button', { type: 'button', class: 'link', onclick: () => setFilter({ stage, ...(type ? { caseType: type } : {}) }), text: n }) : '·',
    );
  fill(
    parts.board,
    h(
      'table',
      { class: 'matrix', id: 'board-matrix' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Stage' }), shownTypes.map((t) => h('th', { scope: 'col', class: 'num', text: label(t) })), h('th', { scope: 'col', class: 'num', text: 'Total' }))),
      h(
        'tbody',
        {},
        stages.map((stage) => {
          const total = shownTypes.reduce((sum, t) => sum + count(stage, t), 0);
          return h(
            'tr',
            { class: total === 0 ? 'empty-row' : '' },
            h('th', { scope: 'row' }, h('span', { class: `stage stage-${stage.toLowerCase()}`, text: label(stage) })),
            shownTypes.map((t) => cell(stage, t, count(stage, t))),
            cell(stage, undefined, total),
          );
        }),
      ),
      h(
        'tfoot',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'row', text: 'Total' }),
          shownTypes.map((t) => h('td', { class: 'num', text: state.referrals.filter((r) => (r.caseType ?? 'UNKNOWN') === t).length })),
          h('td', { class: 'num', text: state.referrals.length }),
        ),
      ),
    ),
  );
}

function renderHeat() {
  const now = Date.now();
  const open = state.referrals.filter((r) => r.status === 'RUNNING');
  const breached = open.filter((r) => heatOf(r, now) === 'breached');
  const due = open.filter((r) => heatOf(r, now) === 'due24').sort((a, b) => Date.parse(a.nextDeadline) - Date.parse(b.nextDeadline));
  const later = open.filter((r) => heatOf(r, now) === 'ok').length;
  const none = open.filter((r) => heatOf(r, now) === 'none').length;
  const row = (r, cls) => {
    const rung = state.rungs.get(r.referralId);
    return h(
      'li',
      { class: `heat-item ${cls}`, 'data-referral-id': r.referralId },
      h('button', { type: 'button', class: 'link mono', onclick: () => select(r.referralId), text: r.referralId }),
      h(
        'span',
        { class: 'heat-meta' },
        h('span', { class: 'muted', text: `${label(r.stage)} · ${r.leadAgency ?? 'no lead'}` }),
        rung ? h('span', { class: 'rung rung-top', title: `${rung.track} clock ${rung.step}`, text: `rung: ${rung.rung}` }) : null,
      ),
      h('span', { class: 'heat-when', text: r.nextDeadline ? untilDeadline(r.nextDeadline, now) : 'deadline passed' }),
    );
  };
  fill(
    parts.heat,
    h(
      'div',
      { class: 'heat-bar' },
      heatChip('breached', breached.length, 'breached', () => setFilter({ heat: 'breached' })),
      heatChip('due24', due.length, 'due ≤ 24 h', () => setFilter({ heat: 'due24' })),
      heatChip('ok', later, 'due later', () => setFilter({ heat: 'ok' })),
      heatChip('none', none, 'no clock', () => setFilter({ heat: 'none' })),
    ),
    breached.length + due.length === 0
      ? h('p', { class: 'muted', text: 'Nothing breached or due within 24 hours.' })
      : h('ul', { class: 'heat-list', id: 'heat-list' }, breached.map((r) => row(r, 'breached')), due.map((r) => row(r, 'due24'))),
  );
}

function heatChip(cls, n, text, onclick) {
  return h('button', { type: 'button', class: `chip heat-${cls}`, onclick }, h('strong', { text: n }), ` ${text}`);
}

function renderLoad() {
  const byLead = new Map();
  for (const r of state.referrals) {
    const lead = r.leadAgency ?? '—';
    const row = byLead.get(lead) ?? { lead, open: 0, breached: 0, due24: 0, closed: 0 };
    const heat = heatOf(r);
    if (heat === 'closed') row.closed += 1;
    else row.open += 1;
    if (heat === 'breached') row.breached += 1;
    if (heat === 'due24') row.due24 += 1;
    byLead.set(lead, row);
  }
  const rows = [...byLead.values()].sort((a, b) => b.open - a.open || a.lead.localeCompare(b.lead));
  const max = Math.max(1, ...rows.map((r) => r.open));
  if (rows.length === 0) return fill(parts.load, h('p', { class: 'muted', text: 'No referrals yet.' }));
  fill(
    parts.load,
    h(
      'table',
      { class: 'load', id: 'load-table' },
      h('thead', {}, h('tr', {}, ['Lead', 'Open', '', 'Breached', '≤ 24 h', 'Closed'].map((t, i) => h('th', { scope: 'col', class: i === 0 || i === 2 ? '' : 'num', text: t })))),
      h(
        'tbody',
        {},
        rows.map((r) => {
          const bar = h('span', { class: 'bar-fill' });
          bar.style.width = `${Math.round((r.open / max) * 100)}%`;
          return h(
            'tr',
            { 'data-agency': r.lead },
            h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => setFilter({ lead: r.lead }), text: r.lead })),
            h('td', { class: 'num', text: r.open }),
            h('td', { class: 'bar-cell' }, h('span', { class: 'bar' }, bar)),
            h('td', { class: r.breached ? 'num hot' : 'num', text: r.breached }),
            h('td', { class: r.due24 ? 'num warm' : 'num', text: r.due24 }),
            h('td', { class: 'num muted', text: r.closed }),
          );
        }),
      ),
    ),
  );
}

function renderList() {
  const now = Date.now();
  const f = state.filter;
  const shown = state.referrals
    .filter(matches)
    .sort((a, b) => stageOrder(a.stage) - stageOrder(b.stage) || (Date.parse(a.nextDeadline ?? '') || Infinity) - (Date.parse(b.nextDeadline ?? '') || Infinity) || b.startedAt.localeCompare(a.startedAt));
  const active = [f.stage && `stage ${label(f.stage)}`, f.caseType && label(f.caseType), f.lead && `lead ${f.lead}`, f.heat && heatText(f.heat)].filter(Boolean);
  parts.listTitle.textContent = `Referrals (${shown.length}${shown.length === state.referrals.length ? '' : ` of ${state.referrals.length}`})`;
  fill(parts.filterNote, active.length > 0 ? [h('span', { class: 'chip', text: `Filter: ${active.join(', ')}` }), h('button', { type: 'button', class: 'link', onclick: () => setFilter({}), text: 'clear' })] : null);
  if (state.referrals.length === 0) return fill(parts.list, h('p', { class: 'muted', text: 'No referrals visible to you yet.' }));
  fill(
    parts.list,
    h(
      'table',
      { class: 'referrals', id: 'referrals-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Referral', 'Stage', 'Case type', 'Lead', 'Location', 'Priority', 'Next deadline', 'Started', 'Temporal'].map((t) => h('th', { scope: 'col', class: `col-${t.toLowerCase().replace(/ /g, '-')}`, text: t })),
        ),
      ),
      h(
        'tbody',
        {},
        shown.map((r) => {
          const heat = heatOf(r, now);
          return h(
            'tr',
            { class: `row heat-${heat}${r.referralId === state.selected ? ' selected' : ''}`, 'data-referral-id': r.referralId, 'data-stage': r.stage ?? '', 'data-case-type': r.caseType ?? '' },
            h('td', {}, h('button', { type: 'button', class: 'link mono open-referral', onclick: () => select(r.referralId), text: r.referralId })),
            h('td', {}, h('span', { class: `stage stage-${String(r.stage ?? 'unknown').toLowerCase()}`, text: label(r.stage) }), r.status !== 'RUNNING' && r.stage !== 'CLOSED' ? h('span', { class: 'muted small', text: ` (${label(r.status)})` }) : null),
            h('td', { text: label(r.caseType) }),
            h('td', { text: r.leadAgency ?? '—' }),
            h('td', { class: 'col-location', text: [titleCase(r.province), r.district].filter(Boolean).join(' · ') || '—' }),
            h('td', { class: 'col-priority' }, r.priority ? h('span', { class: `priority priority-${r.priority.toLowerCase()}`, text: label(r.priority) }) : '—'),
            h(
              'td',
              { class: 'deadline' },
              heat === 'breached' ? h('span', { class: 'badge badge-breached', text: 'breached' }) : null,
              r.nextDeadline && heat !== 'closed' ? h('span', { title: formatTime(r.nextDeadline), text: ` ${untilDeadline(r.nextDeadline, now)}` }) : heat === 'breached' ? null : '—',
            ),
            h('td', { class: 'muted started col-started', title: formatTime(r.startedAt), text: ago(r.startedAt, now) }),
            h('td', {}, temporalLink(`referral-${r.referralId}`) ? h('a', { href: temporalLink(`referral-${r.referralId}`), target: '_blank', rel: 'noopener noreferrer', class: 'temporal-link', text: 'open ↗' }) : '—'),
          );
        }),
      ),
    ),
  );
}

/** `KHYBER_PAKHTUNKHWA` → `Khyber Pakhtunkhwa`. */
function titleCase(code) {
  if (!code) return '';
  return String(code)
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

function stageOrder(stage) {
  const i = STAGES.indexOf(stage);
  return i === -1 ? STAGES.length : i;
}

function heatText(heat) {
  return { breached: 'SLA breached', due24: 'due within 24 h', ok: 'due later', none: 'no clock', closed: 'closed' }[heat] ?? heat;
}

function renderDetail(loading = false) {
  const el = parts.detail;
  document.getElementById('layout')?.classList.toggle('with-detail', Boolean(state.selected));
  if (!state.selected) {
    el.hidden = true;
    return fill(el);
  }
  el.hidden = false;
  const close = h('button', { type: 'button', class: 'close', 'aria-label': 'Close', onclick: closeDetail, text: '×' });
  if (loading || (!state.detail && !state.detailError)) return fill(el, h('div', { class: 'detail-head' }, h('h2', { class: 'mono', text: state.selected }), close), h('p', { class: 'muted', text: 'Loading…' }));
  if (state.detailError) return fill(el, h('div', { class: 'detail-head' }, h('h2', { class: 'mono', text: state.selected }), close), h('p', { class: 'alert alert-error', role: 'alert', text: state.detailError }));

  const d = state.detail;
  const ref = d.referral;
  const routing = ref.routing;
  const tracks = ref.tracks ?? {};
  const facts = [
    ['Stage', label(ref.stage)],
    ['Case type', label(ref.caseType)],
    ['Priority', label(ref.priority)],
    ['Policy', ref.policyVersion],
    ...(routing?.status === 'ROUTED'
      ? [
          ['Lead', routing.lead],
          ['Supporting', routing.supporting.join(', ') || '—'],
          ['Informed', routing.informed.join(', ') || '—'],
          ['Escalates to', routing.escalationCommittee],
          ['Rule', routing.ruleId],
        ]
      : routing?.status === 'UNROUTED'
        ? [['Routing', `unrouted: ${routing.reason}`]]
        : []),
    ...(ref.consent ? [['Consent', label(ref.consent)]] : []),
    ...(ref.victimIdentified !== undefined ? [['Victim identified', ref.victimIdentified ? 'yes' : 'no']] : []),
    ...(ref.closedReason ? [['Closed', ref.closedReason]] : []),
    ...(d.justice || tracks.justice ? [['Justice track', trackText(d.justice?.stage ?? tracks.justice?.stage, tracks.justice)]] : []),
    ...(d.protection || tracks.protection ? [['Protection track', trackText(d.protection?.stage ?? tracks.protection?.stage, tracks.protection)]] : []),
  ];
  const uiBase = d.temporalUiUrl ?? temporalLink(`referral-${ref.referralId}`);
  const links = [
    uiBase ? h('a', { href: uiBase, target: '_blank', rel: 'noopener noreferrer', class: 'temporal-link button', id: 'temporal-link', text: 'Open in Temporal UI ↗' }) : null,
    d.justice && uiBase ? h('a', { href: `${uiBase}-justice`, target: '_blank', rel: 'noopener noreferrer', class: 'temporal-link', text: 'justice track ↗' }) : null,
    d.protection && uiBase ? h('a', { href: `${uiBase}-protection`, target: '_blank', rel: 'noopener noreferrer', class: 'temporal-link', text: 'protection track ↗' }) : null,
  ];

  fill(
    el,
    h('div', { class: 'detail-head' }, h('div', {}, h('p', { class: 'eyebrow', text: 'Referral' }), h('h2', { class: 'mono', id: 'detail-title', text: ref.referralId })), close),
    h('div', { class: 'links' }, links),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v ?? '—' })])),
    d.persons ? personsSection(d.persons) : null,
    h('h3', { text: 'SLA clocks' }),
    slaTable(clocksOf(d)),
    h('h3', { text: 'Timeline' }),
    timelineTable(d),
  );
}

function trackText(stage, summary) {
  const bits = [label(stage)];
  if (summary?.breached) bits.push('breached');
  if (summary?.nextDeadline && !summary.closed) bits.push(`next deadline ${untilDeadline(summary.nextDeadline)}`);
  return bits.join(' · ');
}

function closeDetail() {
  state.selected = undefined;
  state.detail = undefined;
  state.detailError = undefined;
  renderList();
  renderDetail();
}

function slaTable(clocks) {
  if (clocks.length === 0) return h('p', { class: 'muted', text: 'No SLA clocks.' });
  const now = Date.now();
  const order = { RUNNING: 0, MET: 1, CANCELLED: 2 };
  const sorted = [...clocks].sort((a, b) => (order[a.status] ?? 3) - (order[b.status] ?? 3) || a.deadline.localeCompare(b.deadline));
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'sla', id: 'sla-table' },
      h('thead', {}, h('tr', {}, ['Clock', 'Responsible', 'Status', 'Deadline', 'Escalation'].map((t) => h('th', { scope: 'col', text: t })))),
      h(
        'tbody',
        {},
        sorted.map((c) => {
          const fired = c.firedRungs ?? [];
          return h(
            'tr',
            { class: c.breached ? 'breached' : '', 'data-step': c.step },
            h('td', {}, h('span', { class: `track track-${c.track}`, text: c.track }), h('span', { class: 'mono step', text: c.step })),
            h('td', { text: c.assignee ? `${c.responsible} (${c.assignee})` : c.responsible }),
            h(
              'td',
              {},
              h('span', { class: `status status-${c.status.toLowerCase()}`, text: label(c.status) }),
              c.breached ? h('span', { class: 'badge badge-breached', text: 'breached' }) : null,
              c.extensions > 0 ? h('span', { class: 'muted small', text: ` +${c.extensions} ext.` }) : null,
            ),
            h('td', { class: 'nowrap' }, h('div', { text: formatTime(c.deadline) }), c.status === 'RUNNING' ? h('div', { class: 'muted small', text: untilDeadline(c.deadline, now) }) : c.metAt ? h('div', { class: 'muted small', text: `met ${formatTime(c.metAt)}` }) : null),
            h('td', {}, fired.length === 0 ? h('span', { class: 'muted', text: 'none' }) : fired.map((rung, i) => h('span', { class: i === fired.length - 1 ? 'rung rung-top' : 'rung', text: rung }))),
          );
        }),
      ),
    ),
  );
}

/** The referral's own timeline and its tracks', merged by time. */
function timelineTable(d) {
  const entries = [
    ...(d.referral.timeline ?? []).map((e) => ({ ...e, track: e.track ?? 'referral' })),
    ...(d.justice?.timeline ?? []).map((e) => ({ ...e, track: e.track ?? 'justice' })),
    ...(d.protection?.timeline ?? []).map((e) => ({ ...e, track: e.track ?? 'protection' })),
  ]
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.at.localeCompare(b.e.at) || a.i - b.i)
    .map(({ e }) => e);
  if (entries.length === 0) return h('p', { class: 'muted', text: 'No entries yet.' });
  return h(
    'ol',
    { class: 'timeline', id: 'timeline' },
    entries.map((e) =>
      h(
        'li',
        { class: `entry on-${e.track}`, 'data-action': e.action },
        h('div', { class: 'entry-when', title: e.at, text: formatTime(e.at) }),
        h(
          'div',
          { class: 'entry-body' },
          h('div', {}, h('span', { class: `track track-${e.track}`, text: e.track }), h('strong', { class: 'entry-action', text: e.action }), h('span', { class: 'muted', text: ` by ${e.actor} (${e.agency}${e.assertedBy ? `, asserted by ${e.assertedBy}` : ''})` })),
          e.reason ? h('div', { class: 'entry-reason', text: e.reason }) : null,
          e.details && Object.keys(e.details).length > 0
            ? h('div', { class: 'entry-details' }, Object.entries(e.details).map(([k, v]) => h('span', { class: 'kv' }, h('span', { class: 'k', text: k }), h('span', { class: 'v', text: String(v) }))))
            : null,
        ),
      ),
    ),
  );
}

function personsSection(persons) {
  return h(
    'section',
    { class: 'persons', id: 'persons' },
    h('h3', { text: `Persons (${persons.length})` }),
    h('p', { class: 'alert alert-warn', text: 'Personal data: shown because your role may read it. Do not copy it elsewhere.' }),
    persons.length === 0
      ? h('p', { class: 'muted', text: 'None recorded.' })
      : persons.map((p) =>
          h(
            'dl',
            { class: 'facts person' },
            Object.entries(p).map(([k, v]) => [h('dt', { text: label(k) }), h('dd', { text: Array.isArray(v) ? v.join(', ') : String(v) })]),
          ),
        ),
  );
}

// --- session ---

function signOut(message) {
  store.clear();
  state.key = '';
  clearInterval(state.timer);
  state.timer = undefined;
  state.referrals = [];
  state.selected = undefined;
  state.detail = undefined;
  els.session.hidden = true;
  void start(message);
}

async function start(message) {
  const session = await signIn(app, store, {
    hint: "Enter your operator or agency API key. It is kept in this tab's session only and sent as a bearer token.",
    message,
  });
  state.key = session.key;
  const who = session.who ?? {};
  els.who.textContent = `${who.id ?? '?'} · ${who.agency ?? '?'} · ${who.role ?? '?'}`;
  els.session.hidden = false;
  if (who.role === 'partner') {
    fill(app, h('p', { class: 'alert alert-warn' }, 'Partner organisations see their tasks on the ', h('a', { href: '/partner', text: 'partner page' }), '.'));
    return;
  }
  fill(app, layout());
  render();
  await refresh();
  state.timer = setInterval(() => void refresh(), REFRESH_MS);
}

async function loadConfig() {
  try {
    const res = await fetch('/console/config', { cache: 'no-store' });
    if (res.ok) {
      const config = await res.json();
      state.config = { temporalUiUrl: String(config.temporalUiUrl ?? '').replace(/\/+$/, ''), namespace: String(config.namespace ?? 'default') };
    }
  } catch {
    // Without it the list has no Temporal links; the detail still has its own.
  }
}

els.refresh.addEventListener('click', () => void refresh());
els.signout.addEventListener('click', () => signOut());
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && state.selected) closeDetail();
});

await loadConfig();
await start();
