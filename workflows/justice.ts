import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { deadlineAt } from '../domain/deadlines.js';
import { isCommittee, partiesAt } from '../domain/jurisdiction.js';
import type { Notification } from '../schemas/notifications.js';
import type { RoutedDecision } from '../schemas/routing.js';
import type { Actor, ActorRole } from './actions.js';
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
  appealUpdate,
  chargeDecisionUpdate,
  contentBlockUpdate,
  extendDeadlineUpdate,
  investigationReportUpdate,
  justiceStateQuery,
  leadChangedSignal,
  licenceCheckUpdate,
  reassignStepUpdate,
  registerCaseUpdate,
  stopTrackSignal,
  trackUpdatedSignal,
  trialUpdateUpdate,
  verdictUpdate,
} from './messages.js';
import { CaseTypeKey, DistrictKey, LeadAgencyKey, NextDeadlineKey, PriorityKey, ProvinceKey, SlaBreachedKey, StageKey } from './search-attributes.js';
import { SlaTracker } from './sla.js';
import { upsertUnlessSetAtStart } from './upsert-at-start.js';
import type { AuditEntry, JusticeCarried, JusticeInput, JusticeState, TrackSummary } from './types.js';

/**
 * The justice track of one referral: workflow id `referral-<id>-justice`, started by the referral.
 *
 *   REGISTRATION → INVESTIGATION → CHARGE_DECISION → TRIAL ⇄ VERDICT → CLOSED
 *        └→ CLOSED_NO_CASE              └→ CLOSED_NOT_CHARGED        (appeal: VERDICT → TRIAL)
 *
 * Each stage waits on an SLA clock (policy.sla) whose escalation ladder fires while it waits.
 * A fraudulent-job-ad case also runs two steps of its own from the start, in parallel: PTA blocks
 * the content, BEOE checks the promoter's licence. Agency actions are updates: the validators
 * reject a wrong actor, agency or transition before anything is written to history; handlers only
 * change state and queue notifications, which the workflow's own flow publishes.
 * No personal data: the track knows ids, agencies, stages and decisions only.
 */

export type JusticeStage =
  | 'REGISTRATION'
  | 'INVESTIGATION'
  | 'CHARGE_DECISION'
  | 'TRIAL'
  | 'VERDICT'
  | 'CLOSED'
  | 'CLOSED_NO_CASE'
  | 'CLOSED_NOT_CHARGED'
  | 'STOPPED';

export interface JusticeOutcome {
  stage: string;
  verdict?: string;
  chargeDecision?: string;
}

/** Trial updates per run: after this many, the track continues as new with its state carried. */
export const TRIAL_UPDATES_PER_RUN = 10;
/**
 * Search attributes upserted, and the referral signalled, only when what they carry changed;
 * attributes the start already set are not written again. Each is a history event on both sides.
 */
export const JUSTICE_SUMMARY_ON_CHANGE_PATCH = 'justice-summary-on-change';

const PROSECUTION = 'PROSECUTION';
const PTA = 'PTA';
const BEOE = 'BEOE';
const FJA = 'FRAUDULENT_JOB_AD';
const TERMINAL: readonly string[] = ['CLOSED', 'CLOSED_NO_CASE', 'CLOSED_NOT_CHARGED', 'STOPPED'];
const ACTOR_FIELDS: readonly string[] = ['actorId', 'agency', 'role', 'organisation', 'assertedBy', 'jurisdiction'];
const ROLES: readonly ActorRole[] = ['OFFICER', 'SUPERVISOR', 'OPERATOR', 'PARTNER', 'ADMIN'];

export async function justiceWorkflow(input: JusticeInput): Promise<JusticeOutcome> {
  const { policy, carried } = input;
  const calendarOpts = { urgent: input.urgent, calendar: policy.calendar };
  const onChange = patched(JUSTICE_SUMMARY_ON_CHANGE_PATCH);
  // An action applied in an earlier run passes every validator below and is answered with the
  // current state, applying nothing: see AppliedActions.
  const applied = new AppliedActions(patched(ACTION_DEDUPE_WINDOW_PATCH), carried?.appliedActions, dedupeWindowOf(policy));
  // The policy's authority table, when the referral started with one: see workflows/authority.ts.
  const authority = authorityOf(
    patched(AUTHORITY_PATCH),
    policy.authority,
    () => ({ lead: routing.lead, supporting: routing.supporting, informed: routing.informed, location: { province: input.province, district: input.district } }),
    () => parties(),
  );
  let lastAttributes: string | undefined;
  let lastSummary: string | undefined;

  // --- state (everything the state query shows, and what continue-as-new carries) ---
  let routing: RoutedDecision = carried?.routing ?? input.routing;
  let stage: string = carried?.stage ?? 'REGISTRATION';
  const timeline: AuditEntry[] = carried ? [...carried.timeline] : [];
  let statusUpdates = carried?.statusUpdates ?? 0;
  let appeals = carried?.appeals ?? 0;
  const statusUpdatesAtStart = statusUpdates;
  let caseNumber = lastDetail(timeline, 'REGISTERED', 'caseNumber');
  let chargeDecision = lastOf(timeline, ['CHARGED', 'NOT_CHARGED'])?.action;
  let verdict = lastDetail(timeline, 'VERDICT', 'verdict');
  let contentBlock = lastDetail(timeline, 'CONTENT_BLOCK', 'result');
  let licenceCheck = lastDetail(timeline, 'LICENCE_CHECK', 'result');
  let registeredAtMs: number | undefined;
  let verdictAtMs: number | undefined;
  let appealWindowEndsMs: number | undefined;
  let appealWindowOpen = false;
  let interimReports = 0;
  let closed = false;

  // --- publishing: handlers queue, the workflow's own flow publishes (see flusher below) ---
  const outbox: Notification[] = [];
  let summaryDirty = true;
  let finishing = false;

  const facts = () => ({
    referralId: input.referralId,
    province: input.province,
    district: input.district,
    priority: input.priority,
    policyVersion: policy.version,
    lead: routing.lead,
  });

  const sla = new SlaTracker(
    policy,
    input.urgent,
    {
      referralId: input.referralId,
      // Getters: a re-classification changes what later SLA notifications say.
      get caseType() {
        return routing.caseType;
      },
      province: input.province,
      district: input.district,
      priority: input.priority,
      stage: () => `JUSTICE:${stage}`,
    },
    () => ({ ministries: routing.informed.filter((a) => !isCommittee(a)) }),
    {
      publish: async (notifications) => {
        outbox.push(...notifications);
      },
      record: (entry) => {
        record(timeline, { ...entry, track: 'justice' });
      },
      changed: () => {
        summaryDirty = true;
      },
    },
  );

  /** Agencies that may act on the track: the route, the prosecution, the committees of the jurisdiction, and whoever owns a running FJA step. */
  const parties = (): string[] => {
    const all = new Set<string>(
      partiesAt([routing.lead, ...routing.supporting, ...routing.informed, routing.escalationCommittee, PROSECUTION], { province: input.province, district: input.district }),
    );
    if (sla.isRunning('contentBlock')) all.add(PTA);
    if (sla.isRunning('licenceCheck')) all.add(BEOE);
    return [...all];
  };

  const dueBy = (step: string, startMs: number = Date.now()): string | undefined => {
    const slaStep = policy.sla[step];
    return slaStep ? new Date(deadlineAt(startMs, slaStep, calendarOpts)).toISOString() : undefined;
  };

  /** Records an action in the timeline and queues its stage events for operators and whoever acts next. */
  const act = (
    entry: { action: string; actor: string; agency: string; assertedBy?: string; reason?: string | undefined; details?: AuditEntry['details'] },
    recipients: StageEventSpec['recipients'] = [],
  ): void => {
    const seq = record(timeline, {
      action: entry.action,
      actor: entry.actor,
      agency: entry.agency,
      ...(entry.assertedBy !== undefined ? { assertedBy: entry.assertedBy } : {}),
      ...(entry.reason?.trim() ? { reason: entry.reason } : {}),
      track: 'justice',
      ...(entry.details && Object.keys(entry.details).length > 0 ? { details: entry.details } : {}),
    });
    outbox.push(
      ...stageEvents(facts(), {
        track: 'justice',
        stage: stage,
        caseType: routing.caseType,
        action: entry.action,
        actorAgency: entry.agency,
        recipients: recipients.filter((r) => r.agency),
        seq,
      }),
    );
    summaryDirty = true;
  };

  const forInformation = (agency: string) => ({ agency, actionRequired: 'none: for information' });

  const state = (): JusticeState => ({
    referralId: input.referralId,
    stage,
    lead: routing.lead,
    caseType: routing.caseType,
    ...(caseNumber !== undefined ? { caseNumber } : {}),
    ...(chargeDecision !== undefined ? { chargeDecision } : {}),
    ...(verdict !== undefined ? { verdict } : {}),
    ...(contentBlock !== undefined ? { contentBlock } : {}),
    ...(licenceCheck !== undefined ? { licenceCheck } : {}),
    statusUpdates,
    sla: sla.view(),
    timeline,
  });

  const summary = (): TrackSummary => {
    const next = sla.nextDeadline();
    return { stage, closed, breached: sla.anyBreached(), ...(next ? { nextDeadline: next.toISOString() } : {}) };
  };

  // --- validators ---
  const checkActor = (action: { actor?: Actor } | undefined): Actor => {
    if (!action || typeof action !== 'object') reject(Rejection.invalidAction, 'action: required');
    const actor = action.actor;
    requireActor(actor);
    const unknown = Object.keys(actor).filter((k) => !ACTOR_FIELDS.includes(k));
    if (unknown.length > 0) reject(Rejection.invalidAction, `actor.${unknown[0]}: unknown field`);
    requireOneOf(actor.role, ROLES, 'actor.role');
    // Under the authority table its require() checks standing (an operator needs none).
    if (!authority) requireParty(actor, parties());
    return actor;
  };

  const stepRunning = (step: string, result: string | undefined, action: string): void => {
    if (result !== undefined || !sla.isRunning(step)) {
      reject(Rejection.invalidTransition, `${action} is not possible: the ${step} step is not waiting (stage ${stage}${result ? `, already ${result}` : ''})`);
    }
  };

  // --- query, updates, signals ---
  setHandler(justiceStateQuery, state);

  setHandler(
    registerCaseUpdate,
    (a) => {
      if (!applied.firstDelivery()) return state();
      const now = Date.now();
      if (a.decision === 'REGISTERED') {
        stage = 'INVESTIGATION';
        registeredAtMs = now;
        if (a.caseNumber) caseNumber = a.caseNumber;
        act(
          { action: 'REGISTERED', ...auditActor(a.actor), reason: a.reason, details: a.caseNumber ? { caseNumber: a.caseNumber } : {} },
          [{ agency: routing.lead, actionRequired: 'submit the investigation report', dueBy: dueBy('investigationReport', now) }],
        );
      } else {
        stage = 'CLOSED_NO_CASE';
        act({ action: 'NO_CASE', ...auditActor(a.actor), reason: a.reason }, [forInformation(routing.lead)]);
      }
      return state();
    },
    {
      validator: (a) => {
        if (applied.isReplay()) return;
        const actor = checkActor(a);
        if (authority) authority.require('register-case', actor);
        else requireAgency(actor, [routing.lead], 'registerCase');
        requireOneOf(a.decision, ['REGISTERED', 'NO_CASE'], 'decision');
        if (a.decision === 'NO_CASE') requireText(a.reason, 'reason');
        requireStage(stage, ['REGISTRATION'], 'registerCase');
      },
    },
  );

  setHandler(
    investigationReportUpdate,
    (a) => {
      if (!applied.firstDelivery()) return state();
      if (a.kind === 'INTERIM') {
        interimReports += 1;
        act({ action: 'INTERIM_REPORT', ...auditActor(a.actor), reason: a.reason, details: { kind: a.kind } }, [
          { agency: PROSECUTION, actionRequired: 'forward the interim report to the magistrate (CrPC s.173)' },
        ]);
      } else {
        stage = 'CHARGE_DECISION';
        act({ action: 'FINAL_REPORT', ...auditActor(a.actor), reason: a.reason, details: { kind: a.kind } }, [
          { agency: PROSECUTION, actionRequired: 'decide on charges', dueBy: dueBy('chargeDecision') },
        ]);
      }
      return state();
    },
    {
      validator: (a) => {
        if (applied.isReplay()) return;
        const actor = checkActor(a);
        if (authority) authority.require('investigation-report', actor);
        else requireAgency(actor, [routing.lead], 'submitInvestigationReport');
        requireOneOf(a.kind, ['INTERIM', 'FINAL'], 'kind');
        requireStage(stage, ['INVESTIGATION'], 'submitInvestigationReport');
      },
    },
  );

  setHandler(
    chargeDecisionUpdate,
    (a) => {
      if (!applied.firstDelivery()) return state();
      chargeDecision = a.decision;
      if (a.decision === 'CHARGED') {
        stage = 'TRIAL';
        act({ action: 'CHARGED', ...auditActor(a.actor), reason: a.reason }, [
          { agency: PROSECUTION, actionRequired: 'report the status of the prosecution', dueBy: dueBy('prosecutionStatus') },
          forInformation(routing.lead),
        ]);
      } else {
        stage = 'CLOSED_NOT_CHARGED';
        act({ action: 'NOT_CHARGED', ...auditActor(a.actor), reason: a.reason }, [forInformation(routing.lead)]);
      }
      return state();
    },
    {
      validator: (a) => {
        if (applied.isReplay()) return;
        const actor = checkActor(a);
        if (authority) authority.require('charge-decision', actor);
        else requireAgency(actor, [PROSECUTION], 'recordChargeDecision');
        requireOneOf(a.decision, ['CHARGED', 'NOT_CHARGED'], 'decision');
        if (a.decision === 'NOT_CHARGED') requireText(a.reason, 'reason');
        requireStage(stage, ['CHARGE_DECISION'], 'recordChargeDecision');
      },
    },
  );

  setHandler(
    trialUpdateUpdate,
    (a) => {
      if (!applied.firstDelivery()) return state();
      statusUpdates += 1;
      act({ action: 'TRIAL_UPDATE', ...auditActor(a.actor), reason: a.reason, details: { note: a.note, update: statusUpdates } }, [
        { agency: PROSECUTION, actionRequired: 'report the status of the prosecution', dueBy: dueBy('prosecutionStatus') },
      ]);
      return state();
    },
    {
      validator: (a) => {
        if (applied.isReplay()) return;
        const actor = checkActor(a);
        if (authority) authority.require('trial-update', actor);
        else requireAgency(actor, [PROSECUTION], 'recordTrialUpdate');
        requireText(a.note, 'note');
        requireStage(stage, ['TRIAL'], 'recordTrialUpdate');
      },
    },
  );

  setHandler(
    verdictUpdate,
    (a) => {
      if (!applied.firstDelivery()) return state();
      const now = Date.now();
      verdict = a.verdict;
      stage = 'VERDICT';
      verdictAtMs = now;
      const windowEnds = dueBy('appealWindow', now);
      appealWindowEndsMs = windowEnds ? Date.parse(windowEnds) : now;
      appealWindowOpen = true;
      act(
        { action: 'VERDICT', ...auditActor(a.actor), reason: a.reason, details: { verdict: a.verdict, appealWindowEnds: windowEnds ?? '' } },
        [
          { agency: PROSECUTION, actionRequired: 'decide whether to appeal', dueBy: windowEnds },
          { agency: routing.lead, actionRequired: 'decide whether to ask for an appeal', dueBy: windowEnds },
        ],
      );
      return state();
    },
    {
      validator: (a) => {
        if (applied.isReplay()) return;
        const actor = checkActor(a);
        if (authority) authority.require('verdict', actor);
        else requireAgency(actor, [PROSECUTION], 'recordVerdict');
        requireOneOf(a.verdict, ['CONVICTED', 'ACQUITTED', 'PARTLY_CONVICTED'], 'verdict');
        requireStage(stage, ['TRIAL'], 'recordVerdict');
      },
    },
  );

  setHandler(
    appealUpdate,
    (a) => {
      if (!applied.firstDelivery()) return state();
      appeals += 1;
      stage = 'TRIAL';
      appealWindowOpen = false;
      act({ action: 'APPEAL_FILED', ...auditActor(a.actor), reason: a.reason, details: { by: a.by, appeal: appeals } }, [
        { agency: PROSECUTION, actionRequired: 'report the status of the prosecution', dueBy: dueBy('prosecutionStatus') },
      ]);
      return state();
    },
    {
      validator: (a) => {
        if (applied.isReplay()) return;
        const actor = checkActor(a);
        if (authority) authority.require('appeal', actor);
        else requireAgency(actor, [PROSECUTION, routing.lead], 'fileAppeal');
        requireOneOf(a.by, ['PROSECUTION', 'DEFENCE'], 'by');
        requireStage(stage, ['VERDICT'], 'fileAppeal');
        if (!appealWindowOpen) {
          reject(Rejection.invalidTransition, `fileAppeal is not possible: the appeal window closed at ${new Date(appealWindowEndsMs ?? 0).toISOString()}`);
        }
      },
    },
  );

  setHandler(
    contentBlockUpdate,
    (a) => {
      if (!applied.firstDelivery()) return state();
      contentBlock = a.result;
      act({ action: 'CONTENT_BLOCK', ...auditActor(a.actor), reason: a.reason, details: { result: a.result } }, [forInformation(routing.lead)]);
      return state();
    },
    {
      validator: (a) => {
        if (applied.isReplay()) return;
        const actor = checkActor(a);
        if (authority) authority.require('content-block', actor);
        else requireAgency(actor, [PTA], 'confirmContentBlock');
        requireOneOf(a.result, ['BLOCKED', 'NOT_FOUND', 'REFUSED'], 'result');
        stepRunning('contentBlock', contentBlock, 'confirmContentBlock');
      },
    },
  );

  setHandler(
    licenceCheckUpdate,
    (a) => {
      if (!applied.firstDelivery()) return state();
      licenceCheck = a.result;
      act({ action: 'LICENCE_CHECK', ...auditActor(a.actor), reason: a.reason, details: { result: a.result } }, [forInformation(routing.lead)]);
      return state();
    },
    {
      validator: (a) => {
        if (applied.isReplay()) return;
        const actor = checkActor(a);
        if (authority) authority.require('licence-check', actor);
        else requireAgency(actor, [BEOE], 'recordLicenceCheck');
        requireOneOf(a.result, ['LICENSED', 'UNLICENSED', 'SUSPENDED'], 'result');
        stepRunning('licenceCheck', licenceCheck, 'recordLicenceCheck');
      },
    },
  );

  const clockOf = (step: string) => ({ step, deadline: sla.view().find((c) => c.step === step)?.deadline ?? '' });

  const clockMoved = (step: string, action: string, actorAgency: string) => {
    const clock = sla.view().find((c) => c.step === step);
    const deadline = clock?.deadline ?? '';
    // The tracker recorded the entry; its position gives the events a stable id.
    outbox.push(
      ...stageEvents(facts(), {
        track: 'justice',
        stage,
        caseType: routing.caseType,
        action,
        actorAgency,
        recipients: clock ? [{ agency: clock.responsible, actionRequired: `complete the ${step} step`, dueBy: deadline }] : [],
        seq: timeline.length,
      }),
    );
    summaryDirty = true;
    return { step, deadline };
  };

  setHandler(
    extendDeadlineUpdate,
    (a) => {
      if (!applied.firstDelivery()) return clockOf(a.step);
      sla.extend(a.step, a.by, a.actor, a.reason, countedExtension(authority, a.step, a.by, sla));
      return clockMoved(a.step, 'DEADLINE_EXTENDED', a.actor.agency);
    },
    {
      validator: (a) => {
        if (applied.isReplay()) return;
        const actor = checkActor(a);
        if (!authority) validateClockChange(actor, parties(), a.step, sla.runningSteps(), a.reason);
        const by = a.by as { hours?: unknown; days?: unknown } | undefined;
        const amount = by && typeof by === 'object' ? (by.hours ?? by.days) : undefined;
        if (typeof amount !== 'number' || !(amount > 0) || Object.keys(by ?? {}).length !== 1) {
          reject(Rejection.invalidAction, 'by: must be { hours: n } or { days: n } with n > 0');
        }
        if (authority) requireClockChangeByTable(authority, 'extend-deadline', actor, a.step, a.reason, sla, a.by);
      },
    },
  );

  setHandler(
    reassignStepUpdate,
    (a) => {
      if (!applied.firstDelivery()) return clockOf(a.step);
      sla.reassign(a.step, a.assignee, a.actor, a.reason);
      return clockMoved(a.step, 'REASSIGNED', a.actor.agency);
    },
    {
      validator: (a) => {
        if (applied.isReplay()) return;
        const actor = checkActor(a);
        if (authority) requireClockChangeByTable(authority, 'reassign-step', actor, a.step, a.reason, sla);
        else validateClockChange(actor, parties(), a.step, sla.runningSteps(), a.reason);
        requireText(a.assignee, 'assignee');
      },
    },
  );

  setHandler(leadChangedSignal, (change) => {
    if (TERMINAL.includes(stage)) return;
    if (!change?.routing?.lead) {
      log.warn('leadChanged without a routing: ignored', { referralId: input.referralId });
      return;
    }
    const previous = routing;
    routing = change.routing;
    act(
      {
        action: 'REROUTED',
        actor: change.actor,
        agency: change.agency,
        ...(change.assertedBy !== undefined ? { assertedBy: change.assertedBy } : {}),
        reason: change.reason,
        details: { fromLead: previous.lead, toLead: routing.lead, fromCaseType: previous.caseType, toCaseType: routing.caseType, ruleId: routing.ruleId },
      },
      [{ agency: routing.lead, actionRequired: `take the lead of the justice track at stage ${stage}`, dueBy: sla.nextDeadline()?.toISOString() }],
    );
  });

  setHandler(stopTrackSignal, ({ reason }) => {
    if (TERMINAL.includes(stage)) return;
    for (const step of sla.runningSteps()) sla.cancel(step);
    stage = 'STOPPED';
    appealWindowOpen = false;
    act({ action: 'STOPPED', actor: 'referral', agency: routing.lead, reason }, [forInformation(routing.lead)]);
  });

  // --- publishing and search attributes: one coroutine, in order ---
  const publishSummary = async (): Promise<void> => {
    summaryDirty = false;
    const next = sla.nextDeadline();
    const attributes: SearchAttributeUpdatePair[] = [
      { key: StageKey, value: `JUSTICE:${stage}` },
      { key: LeadAgencyKey, value: routing.lead },
      { key: CaseTypeKey, value: routing.caseType },
      { key: SlaBreachedKey, value: sla.anyBreached() },
      { key: NextDeadlineKey, value: next ?? null },
    ];
    const current = summary();
    if (onChange) {
      const attributesKey = JSON.stringify(attributes.map(({ value }) => (value instanceof Date ? value.toISOString() : value)));
      if (attributesKey !== lastAttributes) upsertSearchAttributes(attributes);
      lastAttributes = attributesKey;
      const summaryKey = JSON.stringify(current);
      if (summaryKey === lastSummary) return;
      lastSummary = summaryKey;
    } else {
      upsertSearchAttributes(attributes);
    }
    try {
      await getExternalWorkflowHandle(input.parentWorkflowId).signal(trackUpdatedSignal, { track: 'justice', summary: current });
    } catch (err) {
      // The referral may be gone (or absent in tests): the track carries on regardless.
      log.debug('could not signal the referral', { parent: input.parentWorkflowId, error: String(err) });
    }
  };
  const flushOnce = async (): Promise<void> => {
    if (summaryDirty) await publishSummary();
    if (outbox.length > 0) await notify.publishNotifications(outbox.splice(0));
  };
  const flusher = (async () => {
    for (;;) {
      await condition(() => outbox.length > 0 || summaryDirty || finishing);
      await flushOnce();
      if (finishing && outbox.length === 0 && !summaryDirty) return;
    }
  })();
  /** Waits for handlers, publishes everything queued, and stops the flusher. */
  const drain = async (): Promise<void> => {
    await condition(allHandlersFinished);
    summaryDirty = true;
    finishing = true;
    await flusher;
    while (outbox.length > 0 || summaryDirty) await flushOnce();
  };

  const placeAndPriority: SearchAttributeUpdatePair[] = [
    { key: ProvinceKey, value: input.province },
    { key: DistrictKey, value: input.district },
    { key: PriorityKey, value: input.priority },
  ];
  // The referral starts the track with these set (and continue-as-new keeps them).
  if (onChange) upsertUnlessSetAtStart(placeAndPriority);
  else upsertSearchAttributes(placeAndPriority);

  // --- FJA steps: from the start, beside everything else ---
  const fjaSteps: Array<Promise<unknown>> = [];
  if (!carried && routing.caseType === FJA) {
    fjaSteps.push(
      sla.run('contentBlock', () => contentBlock !== undefined, { responsible: PTA, actionRequired: 'block or take down the advertisement content' }),
      sla.run('licenceCheck', () => licenceCheck !== undefined, { responsible: BEOE, actionRequired: "check the advertiser's overseas employment promoter licence" }),
    );
  }
  if (!carried) {
    act({ action: 'OPENED', actor: 'referral', agency: routing.lead, details: { caseType: routing.caseType, ruleId: routing.ruleId } }, [
      { agency: routing.lead, actionRequired: 'register the case, or record that there is no case', dueBy: dueBy('caseRegistration') },
      ...(routing.caseType === FJA
        ? [
            { agency: PTA, actionRequired: 'block or take down the advertisement content', dueBy: dueBy('contentBlock') },
            { agency: BEOE, actionRequired: "check the advertiser's overseas employment promoter licence", dueBy: dueBy('licenceCheck') },
          ]
        : []),
    ]);
  }

  /** Lead-owned clocks follow the lead through a re-classification. */
  const lead = () => routing.lead;

  const investigation = async (): Promise<void> => {
    const report = sla.run('investigationReport', () => stage !== 'INVESTIGATION', {
      responsible: lead,
      actionRequired: 'submit the investigation report',
      ...(registeredAtMs !== undefined ? { startMs: registeredAtMs } : {}),
    });
    // CrPC s.173: 14 days without a final report, and an interim report is owed within 3 more days.
    const interim = (async () => {
      const breached = () => sla.view().some((c) => c.step === 'investigationReport' && c.status === 'RUNNING' && c.breached);
      await condition(() => breached() || stage !== 'INVESTIGATION');
      if (stage !== 'INVESTIGATION') return;
      const owed = interimReports;
      await sla.run('interimReport', () => interimReports > owed || stage !== 'INVESTIGATION', {
        responsible: lead,
        actionRequired: 'submit an interim investigation report (CrPC s.173)',
      });
    })();
    await Promise.all([report, interim]);
  };

  const trialCycle = async (): Promise<'continueAsNew' | undefined> => {
    const before = statusUpdates;
    await sla.run('prosecutionStatus', () => statusUpdates > before || stage !== 'TRIAL', {
      responsible: PROSECUTION,
      actionRequired: 'report the status of the prosecution',
    });
    const fjaRunning = sla.isRunning('contentBlock') || sla.isRunning('licenceCheck');
    if (stage === 'TRIAL' && !fjaRunning && (statusUpdates - statusUpdatesAtStart >= TRIAL_UPDATES_PER_RUN || workflowInfo().continueAsNewSuggested)) {
      return 'continueAsNew';
    }
    return undefined;
  };

  const appealWindow = async (): Promise<void> => {
    if (appealWindowEndsMs === undefined) {
      // Not reachable through the handlers (a verdict sets it); kept total for safety.
      const now = verdictAtMs ?? Date.now();
      appealWindowEndsMs = Date.parse(dueBy('appealWindow', now) ?? new Date(now).toISOString());
      appealWindowOpen = true;
    }
    // The window passing is the normal end, not a breach: a plain timer, not an SLA clock.
    const moved = await condition(() => stage !== 'VERDICT', Math.max(1, appealWindowEndsMs - Date.now()));
    if (moved) return;
    appealWindowOpen = false;
    // The track closes only when the FJA steps are done too.
    await Promise.all(fjaSteps);
    if (stage !== 'VERDICT') return;
    stage = 'CLOSED';
    act({ action: 'CLOSED', actor: 'justice', agency: routing.lead, reason: 'the appeal window passed with no appeal', details: { verdict: verdict ?? '', appeals } }, [
      forInformation(routing.lead),
    ]);
  };

  // --- the stages ---
  let next: 'continueAsNew' | undefined;
  while (!TERMINAL.includes(stage) && next === undefined) {
    switch (stage) {
      case 'REGISTRATION':
        await sla.run('caseRegistration', () => stage !== 'REGISTRATION', {
          responsible: lead,
          actionRequired: 'register the case, or record that there is no case',
        });
        break;
      case 'INVESTIGATION':
        await investigation();
        break;
      case 'CHARGE_DECISION':
        await sla.run('chargeDecision', () => stage !== 'CHARGE_DECISION', {
          responsible: PROSECUTION,
          actionRequired: 'decide on charges',
        });
        break;
      case 'TRIAL':
        next = await trialCycle();
        break;
      case 'VERDICT':
        await appealWindow();
        break;
      default:
        throw new Error(`justice track: unknown stage ${stage}`);
    }
  }

  if (next === 'continueAsNew') {
    await drain();
    const appliedActions = applied.carry();
    const carry: JusticeCarried = { stage, timeline, routing, statusUpdates, appeals, ...(appliedActions ? { appliedActions } : {}) };
    return continueAsNew<typeof justiceWorkflow>({ ...input, routing, carried: carry });
  }

  // The track ended before its FJA steps were done (no case, not charged, stopped): they are moot.
  for (const step of ['contentBlock', 'licenceCheck']) sla.cancel(step);
  await Promise.all(fjaSteps);
  closed = true;
  await drain();
  return {
    stage,
    ...(verdict !== undefined ? { verdict } : {}),
    ...(chargeDecision !== undefined ? { chargeDecision } : {}),
  };
}

function lastOf(timeline: readonly AuditEntry[], actions: readonly string[]): AuditEntry | undefined {
  for (let i = timeline.length - 1; i >= 0; i--) {
    const entry = timeline[i];
    if (entry && actions.includes(entry.action)) return entry;
  }
  return undefined;
}

/** State a continued run recovers from the carried timeline (JusticeCarried holds no more). */
function lastDetail(timeline: readonly AuditEntry[], action: string, key: string): string | undefined {
  const value = lastOf(timeline, [action])?.details?.[key];
  return value === undefined ? undefined : String(value);
}
