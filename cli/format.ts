import type { ReferralDetail, ReferralSummary } from '../api/referral-service.js';
import type { AuditEntry, SlaClockView, TrackSummary } from '../workflows/types.js';

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `2026-11-24 09:00Z`: minutes are what deadlines are read in; '-' when absent. */
export function shortTime(iso: string | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

/** `2026-11-24 09:00:05Z`: timeline entries keep their seconds. */
export function timelineTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

const yesNo = (b: boolean | undefined) => (b === undefined ? '-' : b ? 'yes' : 'no');

export function referralTable(referrals: ReferralSummary[]): string {
  if (referrals.length === 0) return 'no referrals match';
  const rows = referrals.map((r) => [
    r.referralId,
    r.stage ?? (r.status === 'RUNNING' ? '-' : r.status),
    r.caseType ?? '-',
    r.leadAgency ?? '-',
    r.district ?? '-',
    r.priority ?? '-',
    yesNo(r.slaBreached),
    shortTime(r.nextDeadline),
  ]);
  return `${table(['ID', 'STAGE', 'CASE TYPE', 'LEAD', 'DISTRICT', 'PRIORITY', 'BREACHED', 'NEXT DEADLINE'], rows)}\n${referrals.length} referral(s)`;
}

type Track = 'referral' | 'justice' | 'protection';
export interface TimelineLine extends AuditEntry {
  track: Track;
}

/** The referral's timeline and its tracks', in time order (entries at the same time keep referral, justice, protection order). */
export function mergedTimeline(detail: Pick<ReferralDetail, 'referral' | 'justice' | 'protection'>): TimelineLine[] {
  const tagged = (entries: AuditEntry[] | undefined, track: Track) => (entries ?? []).map((e) => ({ ...e, track: e.track ?? track }));
  const all = [...tagged(detail.referral.timeline, 'referral'), ...tagged(detail.justice?.timeline, 'justice'), ...tagged(detail.protection?.timeline, 'protection')];
  const time = (e: AuditEntry) => {
    const t = Date.parse(e.at);
    return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
  };
  return all
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => time(a.entry) - time(b.entry) || a.index - b.index)
    .map(({ entry }) => entry);
}

function details(d: AuditEntry['details']): string {
  return d ? Object.entries(d).map(([k, v]) => `${k}=${String(v)}`).join(' ') : '';
}

function trackLine(name: string, t: TrackSummary | undefined, state?: { stage: string }): string | undefined {
  const stage = state?.stage ?? t?.stage;
  if (!stage) return undefined;
  const parts = [`${name} ${stage}`];
  if (t?.closed) parts.push('closed');
  if (t?.nextDeadline) parts.push(`next deadline ${shortTime(t.nextDeadline)}`);
  if (t?.breached) parts.push('SLA breached');
  return parts.join(', ');
}

/** `show`: the referral as readable lines (never personal data: only how many persons there are). */
export function renderReferral(detail: ReferralDetail): string {
  const r = detail.referral;
  const out: string[] = [];
  const field = (label: string, value: string | undefined) => value !== undefined && value !== '' && out.push(`  ${label.padEnd(12)} ${value}`);
  out.push(`Referral ${r.referralId}`);
  field('stage', r.stage);
  field('case type', r.caseType);
  field('priority', r.priority);
  field('policy', r.policyVersion);
  if (r.routing?.status === 'ROUTED') {
    const x = r.routing;
    const list = (a: string[]) => (a.length ? a.join(', ') : '-');
    field('route', `lead ${x.lead}; supporting ${list(x.supporting)}; informed ${list(x.informed)}; committee ${x.escalationCommittee} (rule ${x.ruleId})`);
  } else if (r.routing?.status === 'UNROUTED') {
    field('route', `UNROUTED: ${r.routing.reason}`);
  }
  if (r.consent !== undefined || r.victimIdentified !== undefined) {
    field('screening', [r.consent ? `consent ${r.consent}` : '', r.victimIdentified !== undefined ? `victim identified: ${yesNo(r.victimIdentified)}` : ''].filter(Boolean).join('; '));
  }
  field('closed', r.closedReason);
  const tracks = [trackLine('justice', r.tracks?.justice, detail.justice), trackLine('protection', r.tracks?.protection, detail.protection)].filter(Boolean);
  field('tracks', tracks.length ? tracks.join(' | ') : 'none yet');
  if (detail.protection?.tasks.length) {
    field('tasks', detail.protection.tasks.map((t) => `${t.taskId} ${t.kind} (${t.partner}) ${t.status}${t.status === 'OPEN' ? ` due ${shortTime(t.dueBy)}` : ''}`).join('; '));
  }
  if (detail.persons) field('persons', `${detail.persons.length} (personal data: see --json)`);
  field('Temporal UI', detail.temporalUiUrl);

  const clocks: Array<SlaClockView & { track: Track }> = [
    ...(r.sla ?? []).map((c) => ({ ...c, track: 'referral' as const })),
    ...(detail.justice?.sla ?? []).map((c) => ({ ...c, track: 'justice' as const })),
    ...(detail.protection?.sla ?? []).map((c) => ({ ...c, track: 'protection' as const })),
  ];
  out.push('', `SLA clocks (${clocks.length})`);
  if (clocks.length > 0) {
    const rows = clocks.map((c) => [
      c.track,
      c.step,
      c.responsible,
      c.status === 'MET' && c.metAt ? `MET ${shortTime(c.metAt)}` : c.status,
      shortTime(c.deadline),
      yesNo(c.breached),
      c.firedRungs.length ? c.firedRungs.join(',') : '-',
      String(c.extensions),
      c.assignee ?? '-',
    ]);
    out.push(indent(table(['TRACK', 'STEP', 'RESPONSIBLE', 'STATUS', 'DEADLINE', 'BREACHED', 'ESCALATED', 'EXTENSIONS', 'ASSIGNEE'], rows)));
  }

  const timeline = mergedTimeline(detail);
  out.push('', `Timeline (${timeline.length})`);
  if (timeline.length > 0) {
    const rows = timeline.map((e) => [
      timelineTime(e.at),
      e.track,
      e.action,
      `${e.agency}/${e.actor}${e.assertedBy ? ` (asserted by ${e.assertedBy})` : ''}`,
      [e.reason ? `"${e.reason}"` : '', details(e.details)].filter(Boolean).join(' '),
    ]);
    out.push(indent(table(['TIME', 'TRACK', 'ACTION', 'BY', 'REASON / DETAILS'], rows)));
  }
  return out.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
