import {
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { committeesOf, isCommittee, isParty, partiesAt } from '../domain/jurisdiction.js';
import { priorityOf } from '../domain/priority.js';
import type { Notification } from '../schemas/notifications.js';
import type { RoutedDecision, RoutingDecision } from '../schemas/routing.js';
import type { Actor, ReclassifyAction, ScreeningAction } from './actions.js';
import { notify, routing } from './activity-options.js';
import { AUTHORITY_PATCH, authorityOf, countedExtension, requireClockChangeByTable, type Authority } from './authority.js';
import { auditActor, record, stageEvents } from './events.js';
import {
  CLOCK_ROLES,
  Rejection,
  reject,
  requireActor,
  requireAgency,
  requireOneOf,
  requireParty,
  requireRole,
  requireStage,
  requireText,
  validateClockChange,
} from './guards.js';
import { skeletonV1 } from './legacy/skeleton-v1.js';
import {
  acknowledgeUpdate,
  closeReferralUpdate,
  completeScreeningUpdate,
  extendDeadlineUpdate,
  justiceWorkflowId,
  leadChangedSignal,
  protectionWorkflowId,
  reassignStepUpdate,
  reclassifyUpdate,
  referralPersonsQuery,
  referralStateQuery,
  stopTrackSignal,
  trackUpdatedSignal,
  withdrawReferralUpdate,
} from './messages.js';
import {
  CaseTypeKey,
  DistrictKey,
  LeadAgencyKey,
  NextDeadlineKey,
  PartiesKey,
  PriorityKey,
  ProvinceKey,
  SlaBreachedKey,
  StageKey,
} from './search-attributes.js';
import { referralMemo } from './memo.js';
import { upsertUnlessSetAtStart } from './upsert-at-start.js';
import { SlaTracker } from './sla.js';
import type { JusticeInput, ProtectionInput, ReferralOutcome, ReferralState, ReferralWorkflowInput, TrackContext, TrackSummary } from './types.js';

/** The version marker of the full lifecycle; referrals started before it replay the first version. */
export const LIFECYCLE_PATCH = 'referral-lifecycle-v2';
/** Search attributes and memo upserted only when they change (fewer history events per referral). */
export const ATTRIBUTES_ON_CHANGE_PATCH = 'referral-attributes-on-change';
/**
 * Search attributes and memo written once per workflow task, at its end, instead of at every
 * change within it; the start's attributes are not written again. Each upsert is a history event
 * and a visibility write on the server: an intake wrote six.
 */
export const ATTRIBUTES_PER_TASK_PATCH = 'referral-attributes-once-per-task';
/**
 * The `Parties` search attribute names the committees of the referral's jurisdiction
 * (`AHTC-D:PUNJAB:LAHORE`, `AHTC-P:PUNJAB`, `AHTC-N`) instead of every committee bare; referrals
 * started before it keep writing the old list (readers qualify it with withJurisdiction()).
 */
export const PARTIES_BY_JURISDICTION_PATCH = 'referral-parties-by-jurisdiction';

/** Every committee, bare: the `Parties` of referrals started before PARTIES_BY_JURISDICTION_PATCH. */
const LEGACY_COMMITTEES = ['AHTC-D', 'AHTC-P', 'AHTC-N'];

/** One referral, from intake to closure. */
export async function referralWorkflow(input: ReferralWorkflowInput): Promise<ReferralOutcome> {
  if (!patched(LIFECYCLE_PATCH)) return skeletonV1(input);
  return new ReferralLifecycle(input).run();
}

type Track = 'justice' | 'protection';

/**
 * The referral's own steps (routing, acknowledgement, screening), then the justice and
 * protection tracks as child workflows in parallel; the referral closes when both are closed.
 *
 * Unlike its tracks it carries no window of applied action ids (workflows/applied-actions.ts):
 * it never continues as new, so its whole life is one run, and within a run Temporal itself
 * answers a repeated update id with the first outcome.
 */
class ReferralLifecycle {
  private readonly state: ReferralState;
  private readonly priority: 'URGENT' | 'HIGH' | 'NORMAL';
  private readonly sla: SlaTracker;
  private decision: RoutingDecision | undefined;
  private acknowledgedBy: Actor | undefined;
  private screening: ScreeningAction | undefined;
  private pendingReclassification: ReclassifyAction | undefined;
  private withdrawal: { actor: Actor; reason: string } | undefined;
  private readonly children: Partial<Record<Track, ChildWorkflowHandle<never>>> = {};
  private readonly trackSummaries: Partial<Record<Track, TrackSummary>> = {};
  private lastAttributes: string | undefined;
  private lastSummary: string | undefined;
  /** ATTRIBUTES_PER_TASK_PATCH: set at the start of run(), so the marker is in the first task. */
  private attributesPerTask = false;
  private attributesDirty = false;
  /** PARTIES_BY_JURISDICTION_PATCH: set at the start of run(). */
  private partiesByJurisdiction = false;
  /** The policy's authority table (AUTHORITY_PATCH, and a policy that has one): set at the start of run(). */
  private authority: Authority | undefined;

  constructor(private readonly input: ReferralWorkflowInput) {
    const { referral, policy } = input;
    this.priority = priorityOf(referral.facts.flags);
    this.state = {
      referralId: referral.referralId,
      stage: 'ROUTING',
      policyVersion: policy.version,
      caseType: referral.facts.caseType,
      priority: this.priority,
      timeline: [],
    };
    record(this.state.timeline, {
      at: referral.detectedAt,
      action: 'DETECTED',
      actor: input.intake.source,
      agency: referral.sourceAgency,
      track: 'referral',
    });
    const urgent = referral.facts.flags.minor || referral.facts.flags.victimAtRisk;
    this.sla = new SlaTracker(
      policy,
      urgent,
      {
        referralId: referral.referralId,
        caseType: referral.facts.caseType,
        province: referral.facts.location.province,
        district: referral.facts.location.district,
        priority: this.priority,
        stage: () => this.state.stage,
      },
      () => ({ ministries: this.routed()?.informed ?? [] }),
      {
        publish: (n) => notify.publishNotifications(n),
        record: (entry) => this.state.timeline.push({ ...entry, track: 'referral' }),
        changed: () => this.refreshAttributes(),
      },
    );
  }

  async run(): Promise<ReferralOutcome> {
    this.installHandlers();
    const { facts } = this.input.referral;
    const initial: SearchAttributeUpdatePair[] = [
      { key: StageKey, value: this.state.stage },
      { key: CaseTypeKey, value: facts.caseType },
      { key: ProvinceKey, value: facts.location.province },
      { key: DistrictKey, value: facts.location.district },
      { key: PriorityKey, value: this.priority },
    ];
    this.attributesPerTask = patched(ATTRIBUTES_PER_TASK_PATCH);
    this.partiesByJurisdiction = patched(PARTIES_BY_JURISDICTION_PATCH);
    this.authority = authorityOf(
      patched(AUTHORITY_PATCH),
      this.input.policy.authority,
      () => {
        const routed = this.routed();
        return { lead: routed?.lead, supporting: routed?.supporting ?? [], informed: routed?.informed ?? [], location: facts.location };
      },
      () => this.parties(),
    );
    if (!this.attributesPerTask) {
      upsertSearchAttributes(initial);
    } else {
      // The intake bridge and the API start referrals with these already set.
      upsertUnlessSetAtStart(initial);
      // Likewise the memo (bridge/intake.ts starts with referralMemo's).
      this.lastSummary = JSON.stringify(workflowInfo().memo?.['summary'] ?? null);
      void this.writeAttributesAtEndOfTasks();
    }

    await this.route(facts.caseType);
    while (this.decision?.status === 'UNROUTED' && !this.withdrawal) {
      // A committee or operator classifies the case; routing is tried again with the new type.
      await condition(() => this.pendingReclassification !== undefined || this.withdrawal !== undefined);
      const change = this.takeReclassification();
      if (change) await this.route(change.caseType, change);
    }

    if (!this.withdrawal) await this.acknowledgeAndScreen();
    if (!this.withdrawal && this.screening?.outcome === 'CONFIRMED') await this.runTracks();

    return this.close();
  }

  // --- steps ---

  private async route(caseType: string, change?: ReclassifyAction): Promise<void> {
    const facts = { ...this.input.referral.facts, caseType: caseType as ReferralWorkflowInput['referral']['facts']['caseType'] };
    const { policy } = this.input;
    this.decision = await routing.routeReferral(facts, { chargeMatrix: policy.chargeMatrix, flagAdditions: policy.flagAdditions });
    this.state.routing = this.decision;
    this.state.caseType = caseType;
    const by = change ? { ...auditActor(change.actor), reason: change.reason } : { actor: 'charge-matrix', agency: 'ENGINE' };
    if (this.decision.status === 'ROUTED') {
      const seq = record(this.state.timeline, {
        action: change ? 'REROUTED' : 'ROUTED',
        ...by,
        track: 'referral',
        details: { lead: this.decision.lead, ruleId: this.decision.ruleId, caseType },
      });
      if (this.state.stage === 'ROUTING' || this.state.stage === 'UNROUTED') this.state.stage = 'ROUTED';
      this.refreshAttributes();
      await notify.publishNotifications([...this.routedNotifications(this.decision, seq), ...this.stageEvent(change ? 'REROUTED' : 'ROUTED', seq, change)]);
    } else {
      const seq = record(this.state.timeline, { action: 'UNROUTED', ...by, track: 'referral', reason: this.decision.reason });
      this.state.stage = 'UNROUTED';
      this.refreshAttributes();
      log.warn('referral could not be routed', { referralId: this.state.referralId });
      await notify.publishNotifications(this.unroutedNotifications(this.decision.reason, seq));
    }
  }

  private async acknowledgeAndScreen(): Promise<void> {
    const lead = () => this.routed()!.lead;
    const stop = () => this.withdrawal !== undefined;
    const acknowledged = () => this.acknowledgedBy !== undefined || this.screening !== undefined || stop();
    const screened = () => this.screening !== undefined || stop();
    this.state.stage = 'SCREENING';
    this.refreshAttributes();
    await Promise.all([
      this.sla.run('acknowledge', acknowledged, { responsible: lead(), actionRequired: 'acknowledge the referral' }),
      this.sla.run('screening', screened, {
        responsible: lead(),
        actionRequired: 'screen the case: victim identification, risk, protection needs, consent',
      }),
    ]);
    // Re-classifications asked for while screening are applied before the tracks start.
    const change = this.takeReclassification();
    if (change) await this.route(change.caseType, change);
  }

  private async runTracks(): Promise<void> {
    const screening = this.screening!;
    if (screening.caseType && screening.caseType !== this.state.caseType) {
      await this.route(screening.caseType, { actor: screening.actor, caseType: screening.caseType, reason: 'classified at screening' });
    }
    const routed = this.routed();
    if (!routed) return;
    this.state.stage = 'IN_PROGRESS';
    this.refreshAttributes();
    const { referral, policy } = this.input;
    const context: TrackContext = {
      referralId: referral.referralId,
      parentWorkflowId: workflowInfo().workflowId,
      policy,
      urgent: referral.facts.flags.minor || referral.facts.flags.victimAtRisk || screening.victimAtRisk,
      priority: this.priority,
      province: referral.facts.location.province,
      district: referral.facts.location.district,
      routing: routed,
    };
    const attributes = [
      { key: CaseTypeKey, value: routed.caseType },
      { key: ProvinceKey, value: referral.facts.location.province },
      { key: DistrictKey, value: referral.facts.location.district },
      { key: PriorityKey, value: this.priority },
      { key: LeadAgencyKey, value: routed.lead },
    ];
    const referToJustice = this.consentAllowsReferral(screening);
    const runs: Array<Promise<unknown>> = [];
    if (referToJustice) {
      const justiceInput: JusticeInput = context;
      const handle = await startChild('justiceWorkflow', {
        workflowId: justiceWorkflowId(referral.referralId),
        args: [justiceInput],
        typedSearchAttributes: [...attributes, { key: StageKey, value: 'JUSTICE:REGISTRATION' }],
      });
      this.children.justice = handle as ChildWorkflowHandle<never>;
      runs.push(handle.result());
    } else {
      record(this.state.timeline, {
        action: 'NOTIFIED_ANONYMOUSLY',
        ...auditActor(screening.actor),
        reason: 'adult victim did not consent to referral to law enforcement',
        track: 'referral',
      });
    }
    if (screening.victimIdentified) {
      const protectionInput: ProtectionInput = { ...context, victimAtRisk: screening.victimAtRisk, identifiedAt: new Date().toISOString() };
      const handle = await startChild('protectionWorkflow', {
        workflowId: protectionWorkflowId(referral.referralId),
        args: [protectionInput],
        typedSearchAttributes: [...attributes, { key: StageKey, value: 'PROTECTION:PLANNING' }],
      });
      this.children.protection = handle as ChildWorkflowHandle<never>;
      runs.push(handle.result());
    } else {
      record(this.state.timeline, { action: 'NO_VICTIM', ...auditActor(screening.actor), track: 'referral', reason: 'no victim identified: no protection track' });
    }
    this.state.tracks = { ...this.trackSummaries };

    // Re-classification while the tracks run re-routes the justice track; nothing is lost.
    let done = false;
    const all = Promise.allSettled(runs).then((results) => {
      done = true;
      for (const r of results) {
        if (r.status === 'rejected') {
          const message = r.reason instanceof Error ? r.reason.message : String(r.reason);
          record(this.state.timeline, { action: 'TRACK_FAILED', actor: 'engine', agency: 'ENGINE', reason: message, track: 'referral' });
        }
      }
    });
    while (!done) {
      await condition(() => done || this.pendingReclassification !== undefined || this.withdrawal !== undefined);
      const change = this.takeReclassification();
      if (change) {
        await this.route(change.caseType, change);
        const newRoute = this.routed();
        if (newRoute && this.children.justice) {
          await getExternalWorkflowHandle(justiceWorkflowId(referral.referralId)).signal(leadChangedSignal, {
            routing: newRoute,
            actor: change.actor.actorId,
            agency: change.actor.agency,
            // Only when there is one: a re-routing without it signals what it always did.
            ...(change.actor.assertedBy !== undefined ? { assertedBy: change.actor.assertedBy } : {}),
            reason: change.reason,
          });
        }
      }
      if (this.withdrawal && !done) {
        const reason = this.withdrawal.reason;
        for (const track of ['justice', 'protection'] as const) {
          if (this.children[track] && !this.trackSummaries[track]?.closed) {
            await getExternalWorkflowHandle(track === 'justice' ? justiceWorkflowId(referral.referralId) : protectionWorkflowId(referral.referralId)).signal(stopTrackSignal, { reason });
          }
        }
        await all;
      }
    }
  }

  private async close(): Promise<ReferralOutcome> {
    for (const step of this.sla.runningSteps()) this.sla.cancel(step);
    const reason =
      this.withdrawal?.reason ??
      (this.screening?.outcome === 'NOT_A_CASE' ? (this.screening.reason ?? 'not a case of trafficking, smuggling or fraud') : 'both tracks closed');
    this.state.stage = 'CLOSED';
    this.state.closedReason = reason;
    const by = this.withdrawal?.actor ?? this.screening?.actor;
    const seq = record(this.state.timeline, { action: 'CLOSED', ...(by ? auditActor(by) : { actor: 'engine', agency: 'ENGINE' }), reason, track: 'referral' });
    this.refreshAttributes();
    await notify.publishNotifications(this.stageEvent('CLOSED', seq));
    await condition(allHandlersFinished);
    this.flushAttributes();
    return { referralId: this.state.referralId, stage: 'CLOSED', closedReason: reason };
  }

  // --- messages ---

  private installHandlers(): void {
    setHandler(referralStateQuery, () => this.snapshot());
    setHandler(referralPersonsQuery, () => this.input.referral.persons);

    setHandler(
      acknowledgeUpdate,
      (action) => {
        this.acknowledgedBy = action.actor;
        record(this.state.timeline, { action: 'ACKNOWLEDGED', ...auditActor(action.actor), reason: action.reason, track: 'referral' });
        return this.snapshot();
      },
      {
        validator: (action) => {
          requireActor(action?.actor);
          const routed = this.requireRouted('acknowledge');
          if (this.authority) this.authority.require('acknowledge', action.actor);
          else requireAgency(action.actor, [routed.lead], 'acknowledging the referral');
          if (this.acknowledgedBy) reject(Rejection.invalidTransition, 'the referral is already acknowledged');
          if (!this.sla.isRunning('acknowledge')) reject(Rejection.invalidTransition, `acknowledge is not possible at stage ${this.state.stage}`);
        },
      },
    );

    setHandler(
      completeScreeningUpdate,
      (action) => {
        this.screening = action;
        record(this.state.timeline, {
          action: action.outcome === 'NOT_A_CASE' ? 'SCREENED_NOT_A_CASE' : 'SCREENED',
          ...auditActor(action.actor),
          reason: action.consentOverride?.reason ?? action.reason,
          track: 'referral',
          details: {
            victimIdentified: action.victimIdentified,
            victimAtRisk: action.victimAtRisk,
            consent: action.consentOverride ? 'OVERRIDDEN' : action.consent,
            ...(action.caseType ? { caseType: action.caseType } : {}),
          },
        });
        this.state.consent = action.consentOverride ? 'OVERRIDDEN' : action.consent;
        this.state.victimIdentified = action.victimIdentified;
        return this.snapshot();
      },
      { validator: (action) => this.validateScreening(action) },
    );

    setHandler(
      reclassifyUpdate,
      (action) => {
        this.pendingReclassification = action;
        return this.snapshot();
      },
      {
        validator: (action) => {
          requireActor(action?.actor);
          if (this.state.stage === 'CLOSED' || this.withdrawal) reject(Rejection.invalidTransition, 'the referral is closed');
          if (this.pendingReclassification) reject(Rejection.invalidTransition, 'a re-classification is already being applied');
          const routed = this.routed();
          if (this.authority) {
            this.authority.require('reclassify', action.actor);
          } else {
            // The lead agency, or a committee of the referral's own jurisdiction.
            if (!(isCommittee(action.actor.agency) && isParty(action.actor, committeesOf(this.input.referral.facts.location)))) {
              requireAgency(action.actor, routed ? [routed.lead] : [], 're-classification by the lead agency or a committee of the jurisdiction');
            }
            requireRole(action.actor, ['SUPERVISOR', 'OPERATOR', 'ADMIN'], 're-classification');
          }
          requireOneOf(action.caseType, ['TRAFFICKING', 'SMUGGLING', 'FRAUDULENT_JOB_AD'], 'caseType');
          requireText(action.reason, 'reason');
          if (action.caseType === this.state.caseType && this.decision?.status === 'ROUTED') {
            reject(Rejection.invalidTransition, `caseType: the referral is already ${action.caseType}`);
          }
        },
      },
    );

    const withdraw = (actor: Actor, reason: string) => {
      this.withdrawal = { actor, reason };
      for (const step of this.sla.runningSteps()) this.sla.cancel(step);
      return this.snapshot();
    };
    const validateWithdraw = (actor: Actor, reason: string) => {
      requireActor(actor);
      if (this.authority) {
        this.authority.require('withdraw', actor);
      } else {
        requireRole(actor, ['OPERATOR', 'ADMIN', 'SUPERVISOR'], 'withdrawing a referral');
        requireParty(actor, this.parties());
      }
      requireText(reason, 'reason');
      if (this.withdrawal || this.state.stage === 'CLOSED') reject(Rejection.invalidTransition, 'the referral is already closed');
    };
    setHandler(withdrawReferralUpdate, (a) => withdraw(a.actor, a.reason), { validator: (a) => validateWithdraw(a?.actor, a?.reason) });
    // The first version's close: kept for callers that still send it; an operator or admin of a party.
    setHandler(
      closeReferralUpdate,
      (r) => withdraw({ actorId: r.actor, agency: r.agency, role: 'OPERATOR' }, r.reason),
      {
        validator: (r) => {
          requireText(r?.reason, 'reason');
          validateWithdraw({ actorId: r.actor, agency: r.agency, role: 'OPERATOR' }, r.reason);
        },
      },
    );

    setHandler(
      extendDeadlineUpdate,
      (a) => {
        this.sla.extend(a.step, a.by, a.actor, a.reason, countedExtension(this.authority, a.step, a.by, this.sla));
        return this.clockOf(a.step);
      },
      {
        validator: (a) => {
          if (this.authority) {
            requireActor(a?.actor);
            requirePositive(a.by);
            requireClockChangeByTable(this.authority, 'extend-deadline', a.actor, a.step, a.reason, this.sla, a.by);
            return;
          }
          validateClockChange(a?.actor, this.parties(), a?.step, this.sla.runningSteps(), a?.reason);
          requirePositive(a.by);
        },
      },
    );
    setHandler(
      reassignStepUpdate,
      (a) => {
        this.sla.reassign(a.step, a.assignee, a.actor, a.reason);
        return this.clockOf(a.step);
      },
      {
        validator: (a) => {
          if (this.authority) {
            requireActor(a?.actor);
            requireClockChangeByTable(this.authority, 'reassign-step', a.actor, a.step, a.reason, this.sla);
          } else {
            validateClockChange(a?.actor, this.parties(), a?.step, this.sla.runningSteps(), a?.reason);
          }
          requireText(a.assignee, 'assignee');
        },
      },
    );

    setHandler(trackUpdatedSignal, ({ track, summary }) => {
      this.trackSummaries[track] = summary;
      this.refreshAttributes();
    });
  }

  private validateScreening(action: ScreeningAction): void {
    requireActor(action?.actor);
    const routed = this.requireRouted('screening');
    if (this.authority) this.authority.require('complete-screening', action.actor);
    else requireAgency(action.actor, [routed.lead, 'SWD'], 'screening');
    requireStage(this.state.stage, ['SCREENING'], 'screening');
    if (this.screening) reject(Rejection.invalidTransition, 'screening is already complete');
    requireOneOf(action.outcome, ['CONFIRMED', 'NOT_A_CASE'], 'outcome');
    if (action.outcome === 'NOT_A_CASE') requireText(action.reason, 'reason');
    if (action.caseType !== undefined) requireOneOf(action.caseType, ['TRAFFICKING', 'SMUGGLING', 'FRAUDULENT_JOB_AD'], 'caseType');
    if (typeof action.victimIdentified !== 'boolean') reject(Rejection.invalidAction, 'victimIdentified: must be true or false');
    if (typeof action.victimAtRisk !== 'boolean') reject(Rejection.invalidAction, 'victimAtRisk: must be true or false');
    requireOneOf(action.consent, ['GIVEN', 'REFUSED', 'NOT_REQUIRED'], 'consent');
    const minor = this.input.referral.facts.flags.minor;
    if (action.consent === 'NOT_REQUIRED' && !minor && action.victimIdentified && !action.consentOverride) {
      reject(Rejection.invalidAction, "consent: an adult victim's consent is required (GIVEN or REFUSED), or an override with a reason");
    }
    if (action.consentOverride) {
      requireRole(action.actor, CLOCK_ROLES, 'overriding consent');
      requireText(action.consentOverride.reason, 'consentOverride.reason');
    }
  }

  // --- helpers ---

  private consentAllowsReferral(screening: ScreeningAction): boolean {
    if (this.input.referral.facts.flags.minor) return true; // a minor is always referred
    if (screening.consentOverride) return true;
    if (!screening.victimIdentified) return true; // no victim: nothing to consent to (e.g. a job-ad case)
    return screening.consent !== 'REFUSED';
  }

  private takeReclassification(): ReclassifyAction | undefined {
    const change = this.pendingReclassification;
    this.pendingReclassification = undefined;
    return change;
  }

  private routed(): RoutedDecision | undefined {
    return this.decision?.status === 'ROUTED' ? this.decision : undefined;
  }

  private requireRouted(action: string): RoutedDecision {
    const routed = this.routed();
    if (!routed) reject(Rejection.invalidTransition, `${action} is not possible at stage ${this.state.stage}: the referral is not routed`);
    return routed;
  }

  /** The parties the validators check against: committees only of the referral's jurisdiction. */
  private parties(): string[] {
    return partiesAt(this.partyAgencies(), this.input.referral.facts.location);
  }

  private partyAgencies(): string[] {
    const routed = this.routed();
    const agencies = routed ? [routed.lead, ...routed.supporting, ...routed.informed, routed.escalationCommittee] : [];
    return [...agencies, this.input.referral.sourceAgency];
  }

  /** The `Parties` search attribute: before PARTIES_BY_JURISDICTION_PATCH, every committee bare. */
  private partiesAttribute(): string[] {
    if (this.partiesByJurisdiction) return this.parties();
    const agencies = this.partyAgencies();
    return [...new Set([...agencies.slice(0, -1), ...LEGACY_COMMITTEES, ...agencies.slice(-1)])];
  }

  private clockOf(step: string): { step: string; deadline: string } {
    const clock = this.sla.view().find((c) => c.step === step);
    return { step, deadline: clock?.deadline ?? '' };
  }

  private snapshot(): ReferralState {
    const { province, district } = this.input.referral.facts.location;
    return { ...this.state, location: { province, district }, sla: this.sla.view(), tracks: { ...this.trackSummaries } };
  }

  /** Marks the attributes for writing; before ATTRIBUTES_PER_TASK_PATCH, writes them at once. */
  private refreshAttributes(): void {
    if (this.attributesPerTask) this.attributesDirty = true;
    else this.writeAttributes();
  }

  /**
   * Conditions are checked once the task's other coroutines have run: the attributes are written
   * once, with the task's final values.
   */
  private async writeAttributesAtEndOfTasks(): Promise<void> {
    for (;;) {
      await condition(() => this.attributesDirty);
      this.flushAttributes();
    }
  }

  private flushAttributes(): void {
    if (!this.attributesDirty) return;
    this.attributesDirty = false;
    this.writeAttributes();
  }

  private writeAttributes(): void {
    const deadlines = [this.sla.nextDeadline()?.getTime(), ...Object.values(this.trackSummaries).map((t) => (t?.nextDeadline ? Date.parse(t.nextDeadline) : undefined))].filter(
      (d): d is number => d !== undefined && !Number.isNaN(d),
    );
    const breached = this.sla.anyBreached() || Object.values(this.trackSummaries).some((t) => t?.breached);
    const routed = this.routed();
    const attributes: SearchAttributeUpdatePair[] = [
      { key: StageKey, value: this.state.stage },
      { key: CaseTypeKey, value: this.state.caseType ?? 'UNKNOWN' },
      { key: SlaBreachedKey, value: breached },
      { key: NextDeadlineKey, value: deadlines.length > 0 && this.state.stage !== 'CLOSED' ? new Date(Math.min(...deadlines)) : null },
      { key: PartiesKey, value: this.partiesAttribute() },
      ...(routed ? [{ key: LeadAgencyKey, value: routed.lead }] : []),
    ];
    const tracks = Object.fromEntries(Object.entries(this.trackSummaries).map(([k, v]) => [k, v?.stage]));
    // Once per task, the memo holds only what no search attribute shows: it changes with the tracks.
    const summary = this.attributesPerTask
      ? referralMemo(this.input.policy.version, tracks)
      : {
          caseType: this.state.caseType,
          stage: this.state.stage,
          lead: routed?.lead,
          province: this.input.referral.facts.location.province,
          district: this.input.referral.facts.location.district,
          priority: this.priority,
          policyVersion: this.input.policy.version,
          tracks,
        };
    // Written once per task, they are written on change too: no need to ask (each patch marker
    // costs two history events).
    if (!this.attributesPerTask && !patched(ATTRIBUTES_ON_CHANGE_PATCH)) {
      upsertSearchAttributes(attributes);
      upsertMemo({ summary });
      return;
    }
    // Each upsert is a history event: write only what changed (most calls change nothing visible).
    const attributesKey = JSON.stringify(attributes.map(({ key, value }) => [key.name, value instanceof Date ? value.toISOString() : value]));
    if (attributesKey !== this.lastAttributes) {
      this.lastAttributes = attributesKey;
      upsertSearchAttributes(attributes);
    }
    const summaryKey = JSON.stringify(summary);
    if (summaryKey !== this.lastSummary) {
      this.lastSummary = summaryKey;
      upsertMemo({ summary });
    }
  }

  private facts() {
    const { referral, policy } = this.input;
    return {
      referralId: referral.referralId,
      province: referral.facts.location.province,
      district: referral.facts.location.district,
      priority: this.priority,
      policyVersion: policy.version,
      lead: this.routed()?.lead,
    };
  }

  private stageEvent(action: string, seq: number, by?: { actor: Actor }): Notification[] {
    return stageEvents(this.facts(), {
      track: 'referral',
      stage: this.state.stage,
      caseType: this.state.caseType ?? 'UNKNOWN',
      action,
      actorAgency: by?.actor.agency ?? 'ENGINE',
      seq,
    });
  }

  private routedNotifications(decision: RoutedDecision, seq: number): Notification[] {
    const { workflowId } = workflowInfo();
    const now = new Date().toISOString();
    const recipients = [
      { agency: decision.lead, role: 'LEAD' as const, actionRequired: 'acknowledge the referral and take the lead' },
      ...decision.supporting.map((agency) => ({ agency, role: 'SUPPORTING' as const, actionRequired: 'support the lead agency' })),
      ...decision.informed.map((agency) => ({ agency, role: 'INFORMED' as const, actionRequired: 'none: for information' })),
    ];
    return recipients.map(({ agency, role, actionRequired }) => ({
      id: `${workflowId}/routed.${seq}/${agency}`,
      type: 'referral.routed.v1' as const,
      subject: this.state.referralId,
      time: now,
      recipient: agency,
      data: {
        ...this.facts(),
        caseType: decision.caseType,
        stage: 'ROUTED',
        recipient: agency,
        role,
        lead: decision.lead,
        ruleId: decision.ruleId,
        actionRequired,
      },
    }));
  }

  private unroutedNotifications(reason: string, seq: number): Notification[] {
    const { workflowId } = workflowInfo();
    const { lead: _lead, ...facts } = this.facts();
    return [
      {
        id: `${workflowId}/unrouted.${seq}/AHTC-D`,
        type: 'referral.unrouted.v1',
        subject: this.state.referralId,
        time: new Date().toISOString(),
        recipient: 'AHTC-D',
        data: {
          ...facts,
          caseType: (this.state.caseType ?? 'UNKNOWN') as 'UNKNOWN',
          stage: 'UNROUTED',
          recipient: 'AHTC-D',
          reason,
        },
      },
      ...this.stageEvent('UNROUTED', seq),
    ];
  }
}

function requirePositive(by: { hours?: number; days?: number } | { hours: number } | { days: number } | undefined): void {
  const b = by as { hours?: number; days?: number } | undefined;
  if (!b || !((b.hours ?? 0) > 0 || (b.days ?? 0) > 0)) reject(Rejection.invalidAction, 'by: give a positive number of hours or days');
}
