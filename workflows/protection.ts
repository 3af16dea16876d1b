import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { deadlineAt } from '../domain/deadlines.js';
import { partiesAt } from '../domain/jurisdiction.js';
import type { Notification } from '../schemas/notifications.js';
import type {
  Actor,
  CompleteTaskAction,
  ExtendDeadlineAction,
  FollowUpAction,
  PartnerTaskKind,
  ProtectionPlacementAction,
  ReintegrationPlanAction,
} from './actions.js';
import { notify } from './activity-options.js';
import { ACTION_DEDUPE_WINDOW_PATCH, AppliedActions, dedupeWindowOf } from './applied-actions.js';
import { AUTHORITY_PATCH, authorityOf, countedExtension, requireClockChangeByTable } from './authority.js';
import { auditActor, record, stageEvents, type StageEventSpec } from './events.js';
import {
  Rejection,
  reject,
  requireActor,
  requireAgency,
  requireOneOf,
  requireParty,
  requireStage,
  requireText,
  validateClockChange,
} from './guards.js';
import {
  completeTaskUpdate,
  extendDeadlineUpdate,
  followUpUpdate,
  protectionPlacementUpdate,
  protectionStateQuery,
  reassignStepUpdate,
  reintegrationPlanUpdate,
  stopTrackSignal,
  trackUpdatedSignal,
} from './messages.js';
import {
  CaseTypeKey,
  DistrictKey,
  LeadAgencyKey,
  NextDeadlineKey,
  PartnerTasksOpenKey,
  PriorityKey,
  ProvinceKey,
  SlaBreachedKey,
  StageKey,
} from './search-attributes.js';
import { SlaTracker } from './sla.js';
import type { AuditEntry, PartnerTask, ProtectionCarried, ProtectionInput, ProtectionState, TrackSummary } from './types.js';

/**
 * The protection and reintegration track of one referral (workflow id `referral-<id>-protection`):
 *
 *   IMMEDIATE_PROTECTION (only for a victim at risk; SLA `protection`)
 *   → PLANNING (SLA `reintegrationPlan`, timed from identification)
 *   → TASKS (one `partnerTask` clock per task, concurrently, each owned by its partner organisation)
 *   → REINTEGRATED → FOLLOW_UP (one `followUp` clock per month of policy.protection.followUpMonths;
 *     continue-as-new after each follow-up, since the phase spans a year)
 *   → CLOSED;  or STOPPED at any point when the referral stops the track.
 *
 * Agency actions are updates: their validators reject before anything reaches history. Handlers
 * only change state, record the audit entry and queue the notifications; the main flow waits on
 * state and clocks. The input carries no person: partners' free-text notes stay in the timeline
 * (encrypted with the payloads) and never reach a notification or a search attribute.
 */

export type ProtectionStage =
  | 'IMMEDIATE_PROTECTION'
  | 'PLANNING'
  | 'TASKS'
  | 'REINTEGRATED'
  | 'FOLLOW_UP'
  | 'CLOSED'
  | 'STOPPED';

export interface ProtectionOutcome {
  stage: string;
  tasks: number;
  followUps: number[];
}

const TRACK = 'protection' as const;
const SWD = 'SWD';
const PARTNER = 'PARTNER';
/** The agency recorded for what the workflow itself does (timers, transitions, the referral's stop). */
const ENGINE = 'ENGINE';
const MINISTRIES = ['MOI', 'MOPHRD', 'MOFA'] as const;
const PLACEMENTS: ReadonlyArray<ProtectionPlacementAction['placement']> = ['SHELTER', 'MEDICAL', 'FAMILY', 'CHILD_PROTECTION'];
const TASK_KINDS: readonly PartnerTaskKind[] = ['SHELTER', 'MEDICAL', 'PSYCHOSOCIAL', 'LEGAL_AID', 'FAMILY_TRACING', 'LIVELIHOOD', 'EDUCATION'];
const TASK_OUTCOMES: ReadonlyArray<CompleteTaskAction['outcome']> = ['DONE', 'NOT_POSSIBLE'];
const FOLLOW_UP_STATUSES: ReadonlyArray<FollowUpAction['status']> = ['STABLE', 'NEEDS_SUPPORT', 'LOST_CONTACT'];
/** Partner codes and task ids become topic names, clock names and event ids: keep them plain. */
const CODE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_NOTES = 4000;
const MAX_EXTENSION_HOURS = 24 * 365;
const DAY_MS = 86_400_000;
/**
 * Follow-ups are due "m months" after reintegration. A month here is 30 days of elapsed time,
 * not a calendar month: deterministic, independent of time zone and month length.
 */
const FOLLOW_UP_MONTH_MS = 30 * DAY_MS;
/**
 * The track keeps PartnerTasksOpen current: the organisations with an open task while it is at
 * TASKS, none otherwise. Asked only when the value would change, so a track started before it
 * (whose history has no marker there) writes it from its first change after the deploy on.
 */
export const PARTNER_TASKS_OPEN_PATCH = 'protection-partner-tasks-open';

export async function protectionWorkflow(input: ProtectionInput): Promise<ProtectionOutcome> {
  const { policy, routing, carried } = input;
  const identifiedMs = Date.parse(input.identifiedAt);
  if (!carried && !Number.isFinite(identifiedMs)) {
    throw ApplicationFailure.create({ type: 'InvalidInput', nonRetryable: true, message: `identifiedAt: not an ISO date-time (${input.identifiedAt})` });
  }

  // --- state ---
  let stage: ProtectionStage = (carried?.stage as ProtectionStage | undefined) ?? (input.victimAtRisk ? 'IMMEDIATE_PROTECTION' : 'PLANNING');
  const timeline: AuditEntry[] = carried ? [...carried.timeline] : [];
  const tasks: PartnerTask[] = carried ? carried.tasks.map((t) => ({ ...t })) : [];
  const followUpsDone: number[] = carried ? [...carried.followUpsDone] : [];
  let reintegratedMs = carried ? Date.parse(carried.reintegratedAt) : undefined;
  let placement: string | undefined = carried ? lastDetail(carried.timeline, 'PROTECTION_PLACED', 'placement') : undefined;
  let planPartner: string | undefined = carried ? lastDetail(carried.timeline, 'REINTEGRATION_PLAN_AGREED', 'partner') : undefined;
  /** The follow-up month that is due now (its clock is running), if any. */
  let dueMonth: number | undefined;
  let stopped: { reason: string } | undefined;
  // An action applied in an earlier run passes every validator below and is answered with the
  // current state, applying nothing: see AppliedActions.
  const applied = new AppliedActions(patched(ACTION_DEDUPE_WINDOW_PATCH), carried?.appliedActions, dedupeWindowOf(policy));
  // The policy's authority table, when the referral started with one: see workflows/authority.ts.
  const authority = authorityOf(
    patched(AUTHORITY_PATCH),
    policy.authority,
    () => ({ lead: routing.lead, supporting: routing.supporting, informed: routing.informed, location: { province: input.province, district: input.district } }),
    () => parties,
  );

  const parties = partiesAt([SWD, routing.lead, ...routing.supporting, ...routing.informed, PARTNER], { province: input.province, district: input.district });
  const ministries = unique([...routing.informed, ...routing.supporting].filter((a) => (MINISTRIES as readonly string[]).includes(a)));
  const facts = {
    referralId: input.referralId,
    province: input.province,
    district: input.district,
    priority: input.priority,
    policyVersion: policy.version,
    lead: routing.lead,
  };
  const followUpMonths = [...policy.protection.followUpMonths].sort((a, b) => a - b);

  // --- notifications: one ordered queue; the main flow waits for it to drain before it ends ---
  let publishing = 0;
  let queue: Promise<void> = Promise.resolve();
  function publish(batch: Notification[]): Promise<void> {
    if (batch.length === 0) return queue;
    publishing += 1;
    queue = queue
      .then(() => notify.publishNotifications(batch))
      .catch((err: unknown) => log.error('protection notifications not published', { referralId: input.referralId, error: String(err) }))
      .finally(() => {
        publishing -= 1;
      });
    return queue;
  }

  /** Records an accepted action in the audit trail and tells the operators and whoever must act next. */
  function act(
    entry: Omit<AuditEntry, 'at' | 'track'>,
    recipients: StageEventSpec['recipients'] = [],
  ): void {
    const seq = record(timeline, { ...entry, track: TRACK });
    void publish(
      stageEvents(facts, {
        track: TRACK,
        stage,
        caseType: routing.caseType,
        action: entry.action,
        actorAgency: entry.agency,
        recipients,
        seq,
      }),
    );
  }

  // --- SLA clocks ---
  const sla = new SlaTracker(
    policy,
    input.urgent,
    { referralId: input.referralId, caseType: routing.caseType, province: input.province, district: input.district, priority: input.priority, stage: () => stage },
    () => ({ ministries }),
    {
      publish: (notifications) => publish(notifications),
      record: (entry) => {
        record(timeline, { ...entry, track: TRACK });
      },
      changed: () => syncStatus(),
    },
  );

  // --- search attributes and the parent's view of this track ---
  const lastAttributes = new Map<string, string>();
  /** PartnerTasksOpen as last written, joined ('' for none: the attribute is absent). */
  let lastPartnerTasksOpen = '';
  let wantedSummary: TrackSummary | undefined;
  let sentSummary = '';
  let signalling = false;

  function syncStatus(): void {
    const clocks = sla.view();
    for (const task of tasks) {
      const clock = clocks.find((c) => c.step === taskStep(task.taskId));
      if (clock) task.dueBy = clock.deadline;
    }
    const next = sla.nextDeadline();
    const breached = sla.anyBreached();
    // Upsert only what changed: every upsert is a history event.
    const stageValue = `PROTECTION:${stage}`;
    const nextValue = next ? next.toISOString() : 'null';
    const updates: SearchAttributeUpdatePair[] = [];
    if (lastAttributes.get(StageKey.name) !== stageValue) updates.push({ key: StageKey, value: stageValue });
    if (lastAttributes.get(SlaBreachedKey.name) !== String(breached)) updates.push({ key: SlaBreachedKey, value: breached });
    if (lastAttributes.get(NextDeadlineKey.name) !== nextValue) updates.push({ key: NextDeadlineKey, value: next ?? null });
    const open = openTaskOrganisations();
    if (open.join(',') !== lastPartnerTasksOpen && patched(PARTNER_TASKS_OPEN_PATCH)) {
      lastPartnerTasksOpen = open.join(',');
      updates.push({ key: PartnerTasksOpenKey, value: open.length > 0 ? open : null });
    }
    if (updates.length > 0) {
      lastAttributes.set(StageKey.name, stageValue);
      lastAttributes.set(SlaBreachedKey.name, String(breached));
      lastAttributes.set(NextDeadlineKey.name, nextValue);
      upsertSearchAttributes(updates);
    }
    wantedSummary = {
      stage,
      closed: stage === 'CLOSED' || stage === 'STOPPED',
      breached,
      ...(next ? { nextDeadline: next.toISOString() } : {}),
    };
    if (!signalling) void signalParent();
  }

  /** Sends the latest summary to the referral; bursts of changes coalesce, order is kept. */
  async function signalParent(): Promise<void> {
    signalling = true;
    try {
      while (wantedSummary && JSON.stringify(wantedSummary) !== sentSummary) {
        const summary = wantedSummary;
        sentSummary = JSON.stringify(summary);
        try {
          await getExternalWorkflowHandle(input.parentWorkflowId).signal(trackUpdatedSignal, { track: TRACK, summary });
        } catch (err) {
          // The referral may be gone (or absent, in tests): the track goes on regardless.
          log.info('could not signal the referral workflow', { parentWorkflowId: input.parentWorkflowId, error: String(err) });
        }
      }
    } finally {
      signalling = false;
    }
  }

  function setStage(next: ProtectionStage): void {
    stage = next;
    syncStatus();
  }

  function snapshot(): ProtectionState {
    return {
      referralId: input.referralId,
      stage,
      ...(placement !== undefined ? { placement } : {}),
      ...(planPartner !== undefined ? { partner: planPartner } : {}),
      tasks,
      followUpsDone: [...followUpsDone],
      sla: sla.view(),
      timeline,
    };
  }

  /** Partners with a task they can still complete: only at TASKS (a stopped track's tasks are closed). */
  function openTaskOrganisations(): string[] {
    if (stage !== 'TASKS') return [];
    return unique(tasks.filter((t) => t.status === 'OPEN').map((t) => t.partner)).sort();
  }

  function partnerOrganisations(): string[] {
    return unique([...(planPartner ? [planPartner] : []), ...tasks.map((t) => t.partner)]);
  }

  /** A partner acts for its organisation: it must say which. */
  function requirePartyActor(actor: Actor): void {
    // Under the authority table its require() checks standing (an operator needs none).
    if (!authority) requireParty(actor, parties);
    if (actor.agency === PARTNER) requireText(actor.organisation, 'actor.organisation');
  }

  // --- handlers ---
  setHandler(protectionStateQuery, snapshot);

  setHandler(stopTrackSignal, ({ reason }) => {
    if (stopped || stage === 'CLOSED') return;
    stopped = { reason: typeof reason === 'string' && reason.trim() ? reason : 'stopped by the referral' };
    for (const step of sla.runningSteps()) sla.cancel(step);
    setStage('STOPPED');
    act(
      { action: 'TRACK_STOPPED', actor: input.parentWorkflowId, agency: ENGINE, reason: stopped.reason },
      [SWD, ...partnerOrganisations()].map((agency) => ({ agency, actionRequired: 'none: the protection track was stopped' })),
    );
  });

  setHandler(
    protectionPlacementUpdate,
    (action) => {
      if (!applied.firstDelivery()) return snapshot();
      placement = action.placement;
      const planDue = new Date(deadlineAt(identifiedMs, stepPolicy('reintegrationPlan'), { urgent: input.urgent, calendar: policy.calendar })).toISOString();
      setStage('PLANNING');
      act(
        { action: 'PROTECTION_PLACED', ...auditActor(action.actor), ...(action.reason ? { reason: action.reason } : {}), details: { placement: action.placement } },
        [{ agency: SWD, actionRequired: 'agree a reintegration plan with a partner organisation', dueBy: planDue }],
      );
      return snapshot();
    },
    {
      validator: (action) => {
        if (applied.isReplay()) return;
        requireActor(action?.actor);
        requirePartyActor(action.actor);
        if (authority) authority.require('protection-placement', action.actor);
        else requireAgency(action.actor, unique([SWD, routing.lead]), 'recordProtectionPlacement');
        requireOneOf(action.placement, PLACEMENTS, 'placement');
        requireStage(stage, ['IMMEDIATE_PROTECTION'], 'recordProtectionPlacement');
      },
    },
  );

  setHandler(
    reintegrationPlanUpdate,
    (action) => {
      if (!applied.firstDelivery()) return snapshot();
      planPartner = action.partner;
      const now = Date.now();
      const dueBy = new Date(deadlineAt(now, stepPolicy('partnerTask'), { urgent: input.urgent, calendar: policy.calendar })).toISOString();
      for (const t of action.tasks) tasks.push({ taskId: t.taskId, kind: t.kind, partner: t.partner, status: 'OPEN', dueBy });
      setStage('TASKS');
      act(
        {
          action: 'REINTEGRATION_PLAN_AGREED',
          ...auditActor(action.actor),
          ...(action.reason ? { reason: action.reason } : {}),
          details: { partner: action.partner, tasks: action.tasks.map((t) => `${t.taskId}:${t.kind}:${t.partner}`).join(',') },
        },
        unique(tasks.map((t) => t.partner)).map((partner) => ({
          agency: partner,
          actionRequired: `complete reintegration tasks ${tasks
            .filter((t) => t.partner === partner)
            .map((t) => `${t.taskId} (${t.kind})`)
            .join(', ')}`,
          dueBy,
        })),
      );
      return snapshot();
    },
    {
      validator: (action) => {
        if (applied.isReplay()) return;
        requireActor(action?.actor);
        requirePartyActor(action.actor);
        if (authority) authority.require('reintegration-plan', action.actor);
        else requireAgency(action.actor, [SWD], 'agreeReintegrationPlan');
        requireCode(action.partner, 'partner');
        const list: ReintegrationPlanAction['tasks'] | undefined = action.tasks;
        if (!Array.isArray(list) || list.length === 0) reject(Rejection.invalidAction, 'tasks: at least one task is required');
        const seen = new Set<string>();
        list.forEach((t, i) => {
          if (typeof t?.taskId !== 'string' || !TASK_ID.test(t.taskId)) {
            reject(Rejection.invalidAction, `tasks.${i}.taskId: required; letters, digits, ".", "_" and "-" only`);
          }
          if (seen.has(t.taskId)) reject(Rejection.invalidAction, `tasks.${i}.taskId: duplicate task id "${t.taskId}"`);
          seen.add(t.taskId);
          requireOneOf(t.kind, TASK_KINDS, `tasks.${i}.kind`);
          requireCode(t.partner, `tasks.${i}.partner`);
        });
        requireStage(stage, ['PLANNING'], 'agreeReintegrationPlan');
      },
    },
  );

  setHandler(
    completeTaskUpdate,
    (action) => {
      if (!applied.firstDelivery()) return snapshot();
      const task = tasks.find((t) => t.taskId === action.taskId)!;
      task.status = action.outcome;
      task.completedAt = new Date().toISOString();
      const open = tasks.filter((t) => t.status === 'OPEN').length;
      act(
        {
          action: 'PARTNER_TASK_COMPLETED',
          ...auditActor(action.actor),
          agency: action.actor.organisation ?? action.actor.agency,
          ...(action.reason ? { reason: action.reason } : {}),
          // The notes are the partner's free text: kept here (encrypted with the history), never notified.
          details: { taskId: task.taskId, kind: task.kind, outcome: action.outcome, ...(action.notes ? { notes: action.notes } : {}) },
        },
        [
          {
            agency: SWD,
            actionRequired:
              action.outcome === 'NOT_POSSIBLE'
                ? `task ${task.taskId} (${task.kind}) was not possible: review the reintegration plan`
                : `none: task ${task.taskId} (${task.kind}) done; ${open} task(s) open`,
          },
        ],
      );
      syncStatus();
      return snapshot();
    },
    {
      validator: (action) => {
        if (applied.isReplay()) return;
        requireActor(action?.actor);
        requirePartyActor(action.actor);
        if (authority) {
          // A partner naming an unknown task is told so below (InvalidAction).
          const own = tasks.find((t) => t.taskId === action.taskId);
          if (own || action.actor.agency !== PARTNER) authority.require('complete-task', action.actor, { partner: own !== undefined && own.partner === action.actor.organisation });
        } else if (action.actor.agency !== PARTNER) {
          reject(Rejection.forbidden, `actor.agency: completePartnerTask is for the task's partner organisation (PARTNER), not ${action.actor.agency}`);
        }
        requireText(action.taskId, 'taskId');
        requireOneOf(action.outcome, TASK_OUTCOMES, 'outcome');
        if (action.notes !== undefined && typeof action.notes !== 'string') reject(Rejection.invalidAction, 'notes: must be text');
        if ((action.notes?.length ?? 0) > MAX_NOTES) reject(Rejection.invalidAction, `notes: at most ${MAX_NOTES} characters`);
        if (tasks.length === 0) requireStage(stage, ['TASKS'], 'completePartnerTask');
        const task = tasks.find((t) => t.taskId === action.taskId);
        if (!task) reject(Rejection.invalidAction, `taskId: unknown task "${action.taskId}" (tasks: ${tasks.map((t) => t.taskId).join(', ')})`);
        if (task.partner !== action.actor.organisation) {
          reject(Rejection.forbidden, `actor.organisation: task ${task.taskId} is assigned to ${task.partner}, not ${action.actor.organisation ?? ''}`);
        }
        if (task.status !== 'OPEN') reject(Rejection.invalidTransition, `taskId: task ${task.taskId} is already completed (${task.status})`);
        requireStage(stage, ['TASKS'], 'completePartnerTask');
      },
    },
  );

  setHandler(
    followUpUpdate,
    (action) => {
      if (!applied.firstDelivery()) return snapshot();
      followUpsDone.push(action.month);
      followUpsDone.sort((a, b) => a - b);
      act({
        action: 'FOLLOW_UP_RECORDED',
        ...auditActor(action.actor),
        agency: action.actor.organisation ?? action.actor.agency,
        ...(action.reason ? { reason: action.reason } : {}),
        details: { month: action.month, status: action.status },
      });
      return snapshot();
    },
    {
      validator: (action) => {
        if (applied.isReplay()) return;
        requireActor(action?.actor);
        requirePartyActor(action.actor);
        if (authority) {
          authority.require('follow-up', action.actor, { partner: partnerOrganisations().includes(action.actor.organisation ?? '') });
        } else if (action.actor.agency !== SWD) {
          requireAgency(action.actor, [SWD, PARTNER], 'recordFollowUp');
          if (!partnerOrganisations().includes(action.actor.organisation ?? '')) {
            reject(Rejection.forbidden, `actor.organisation: ${action.actor.organisation ?? ''} has no task in this reintegration plan`);
          }
        }
        if (typeof action.month !== 'number' || !followUpMonths.includes(action.month)) {
          reject(Rejection.invalidAction, `month: must be one of ${followUpMonths.join(', ')}`);
        }
        requireOneOf(action.status, FOLLOW_UP_STATUSES, 'status');
        requireStage(stage, ['FOLLOW_UP'], 'recordFollowUp');
        if (followUpsDone.includes(action.month)) reject(Rejection.invalidTransition, `month: the ${action.month}-month follow-up is already recorded`);
        if (dueMonth !== action.month) {
          const dueAt = reintegratedMs !== undefined ? ` (due ${new Date(reintegratedMs + action.month * FOLLOW_UP_MONTH_MS).toISOString()})` : '';
          reject(Rejection.invalidTransition, `month: the ${action.month}-month follow-up is not due yet${dueAt}`);
        }
      },
    },
  );

  setHandler(
    extendDeadlineUpdate,
    (action) => {
      if (!applied.firstDelivery()) return clockOf(action.step);
      sla.extend(action.step, action.by, action.actor, action.reason, countedExtension(authority, action.step, action.by, sla));
      return clockMoved(action.step, 'DEADLINE_EXTENDED', 'deadline extended');
    },
    {
      validator: (action) => {
        if (applied.isReplay()) return;
        requireActor(action?.actor);
        if (authority) {
          requireExtension(action.by);
          requireClockChangeByTable(authority, 'extend-deadline', action.actor, action.step, action.reason, sla, action.by);
          return;
        }
        validateClockChange(action.actor, parties, action.step, sla.runningSteps(), action.reason);
        forbidPartnerClockChange(action.actor);
        requireExtension(action.by);
      },
    },
  );

  setHandler(
    reassignStepUpdate,
    (action) => {
      if (!applied.firstDelivery()) return clockOf(action.step);
      sla.reassign(action.step, action.assignee, action.actor, action.reason);
      return clockMoved(action.step, 'REASSIGNED', 'reassigned: the full time runs again');
    },
    {
      validator: (action) => {
        if (applied.isReplay()) return;
        requireActor(action?.actor);
        if (authority) {
          requireClockChangeByTable(authority, 'reassign-step', action.actor, action.step, action.reason, sla);
        } else {
          validateClockChange(action.actor, parties, action.step, sla.runningSteps(), action.reason);
          forbidPartnerClockChange(action.actor);
        }
        requireText(action.assignee, 'assignee');
      },
    },
  );

  function clockOf(step: string): { step: string; deadline: string } {
    return { step, deadline: sla.view().find((c) => c.step === step)?.deadline ?? '' };
  }

  /** The tracker recorded the change; tell the operators and the responsible agency the new deadline. */
  function clockMoved(step: string, action: string, what: string): { step: string; deadline: string } {
    const clock = sla.view().find((c) => c.step === step && c.status === 'RUNNING')!;
    const entry = timeline[timeline.length - 1]!;
    void publish(
      stageEvents(facts, {
        track: TRACK,
        stage,
        caseType: routing.caseType,
        action,
        actorAgency: entry.agency,
        recipients: [{ agency: clock.responsible, actionRequired: `${step}: ${what}`, dueBy: clock.deadline }],
        seq: timeline.length,
      }),
    );
    syncStatus();
    return { step, deadline: clock.deadline };
  }

  // --- main flow ---
  upsertSearchAttributes([
    { key: CaseTypeKey, value: routing.caseType },
    { key: LeadAgencyKey, value: routing.lead },
    { key: ProvinceKey, value: input.province },
    { key: DistrictKey, value: input.district },
    { key: PriorityKey, value: input.priority },
  ]);
  syncStatus();

  if (!carried) {
    if (stage === 'IMMEDIATE_PROTECTION') {
      const dueBy = new Date(deadlineAt(Date.now(), stepPolicy('protection'), { urgent: input.urgent, calendar: policy.calendar })).toISOString();
      act({ action: 'PROTECTION_TRACK_OPENED', actor: 'engine', agency: ENGINE, details: { victimAtRisk: true } }, [
        { agency: SWD, actionRequired: 'place the victim at risk in protection (shelter, medical care)', dueBy },
        ...(routing.lead !== SWD ? [{ agency: routing.lead, actionRequired: 'place the victim at risk in protection, if SWD has not', dueBy }] : []),
      ]);
      await sla.run('protection', () => placement !== undefined, { responsible: SWD, actionRequired: 'place the victim at risk in protection' });
      if (stopped) return finish();
    } else {
      const dueBy = new Date(deadlineAt(identifiedMs, stepPolicy('reintegrationPlan'), { urgent: input.urgent, calendar: policy.calendar })).toISOString();
      act({ action: 'PROTECTION_TRACK_OPENED', actor: 'engine', agency: ENGINE, details: { victimAtRisk: false } }, [
        { agency: SWD, actionRequired: 'agree a reintegration plan with a partner organisation', dueBy },
      ]);
    }

    // The plan is due a fixed time after identification, however long the placement took.
    await sla.run('reintegrationPlan', () => planPartner !== undefined, {
      responsible: SWD,
      startMs: identifiedMs,
      actionRequired: 'agree a reintegration plan with a partner organisation',
    });
    if (stopped) return finish();

    // One clock per task, all running at once; each partner answers for its own.
    await Promise.all(
      tasks.map((task) =>
        sla.run(taskStep(task.taskId), () => task.status !== 'OPEN', {
          policyStep: 'partnerTask',
          responsible: task.partner,
          actionRequired: `complete reintegration task ${task.taskId} (${task.kind})`,
        }),
      ),
    );
    if (stopped) return finish();

    reintegratedMs = Date.now();
    setStage('REINTEGRATED');
    const firstDue = new Date(reintegratedMs + (followUpMonths[0] ?? 0) * FOLLOW_UP_MONTH_MS).toISOString();
    act(
      { action: 'REINTEGRATED', actor: 'engine', agency: ENGINE, details: { followUpMonths: followUpMonths.join(',') } },
      [SWD, ...partnerOrganisations()].map((agency) => ({
        agency,
        actionRequired: `follow-ups due ${followUpMonths.map((m) => `${m}`).join(', ')} months after reintegration`,
        dueBy: firstDue,
      })),
    );
    setStage('FOLLOW_UP');
  }

  // --- follow-ups: one per run, then continue-as-new with the state carried ---
  const baseMs = reintegratedMs ?? Date.now();
  const month = followUpMonths.find((m) => !followUpsDone.includes(m));
  if (month !== undefined) {
    const dueAt = baseMs + month * FOLLOW_UP_MONTH_MS;
    if (Date.now() < dueAt) await condition(() => stopped !== undefined, dueAt - Date.now());
    if (stopped) return finish();

    dueMonth = month;
    const clockDue = new Date(deadlineAt(Date.now(), stepPolicy('followUp'), { urgent: input.urgent, calendar: policy.calendar })).toISOString();
    act(
      { action: 'FOLLOW_UP_DUE', actor: 'engine', agency: ENGINE, details: { month } },
      [SWD, ...partnerOrganisations()].map((agency) => ({ agency, actionRequired: `record the ${month}-month follow-up after reintegration`, dueBy: clockDue })),
    );
    await sla.run(`followUp:${month}`, () => followUpsDone.includes(month), {
      policyStep: 'followUp',
      responsible: SWD,
      actionRequired: `record the ${month}-month follow-up after reintegration`,
    });
    dueMonth = undefined;
    if (stopped) return finish();

    if (followUpMonths.some((m) => !followUpsDone.includes(m))) {
      await drain();
      // A stop that came in while the last notifications went out ends the track here.
      if (stopped) return finish();
      const appliedActions = applied.carry();
      const next: ProtectionCarried = {
        stage,
        timeline,
        tasks,
        reintegratedAt: new Date(baseMs).toISOString(),
        followUpsDone,
        ...(appliedActions ? { appliedActions } : {}),
      };
      return continueAsNew<typeof protectionWorkflow>({ ...input, carried: next });
    }
  }

  setStage('CLOSED');
  act({ action: 'PROTECTION_TRACK_CLOSED', actor: 'engine', agency: ENGINE, details: { followUps: followUpsDone.join(',') } }, [
    { agency: SWD, actionRequired: 'none: the protection track is closed' },
  ]);
  return finish();

  /** Every handler done, every notification and parent signal sent: then end (or continue-as-new). */
  async function drain(): Promise<void> {
    await condition(() => allHandlersFinished() && publishing === 0 && !signalling);
  }

  async function finish(): Promise<ProtectionOutcome> {
    await drain();
    return { stage, tasks: tasks.length, followUps: [...followUpsDone] };
  }

  function stepPolicy(step: string) {
    const slaStep = policy.sla[step];
    if (!slaStep) throw ApplicationFailure.create({ type: 'InvalidPolicy', nonRetryable: true, message: `policy ${policy.version}: sla.${step} is missing` });
    return slaStep;
  }

  function forbidPartnerClockChange(actor: Actor): void {
    if (actor.agency === PARTNER) reject(Rejection.forbidden, 'actor.agency: a partner organisation may not move an SLA clock');
  }
}

function taskStep(taskId: string): string {
  return `partnerTask:${taskId}`;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function lastDetail(timeline: readonly AuditEntry[], action: string, key: string): string | undefined {
  const entry = [...timeline].reverse().find((e) => e.action === action);
  const value = entry?.details?.[key];
  return value === undefined ? undefined : String(value);
}

function requireCode(value: string | undefined, field: string): void {
  requireText(value, field);
  if (!CODE.test(value!)) reject(Rejection.invalidAction, `${field}: an organisation code (letters, digits, "_" and "-"), got "${value}"`);
}

function requireExtension(by: ExtendDeadlineAction['by'] | undefined): void {
  const hours = by && 'hours' in by ? by.hours : by && 'days' in by ? by.days * 24 : undefined;
  if (typeof hours !== 'number' || !Number.isFinite(hours) || hours <= 0) {
    reject(Rejection.invalidAction, 'by: must be { hours: n } or { days: n } with n > 0');
  }
  if (hours > MAX_EXTENSION_HOURS) reject(Rejection.invalidAction, `by: at most ${MAX_EXTENSION_HOURS / 24} days at a time`);
}
