import { z } from 'zod';
import type * as Types from '../workflows/actions.js';
import { CloudEventContext } from './cloudevents.js';
import { AgencyCode, CaseType, ReferralId } from './common.js';

/**
 * Agency actions sent over Kafka (`referrals.actions`): one CloudEvent type per workflow update,
 * `referral.action.<name>.v1`, whose data is `{ referralId, ...payload }`. The payload schemas
 * match the TypeScript types of workflows/actions.ts (checked at compile time at the end of this
 * file); the workflows' update validators check them again against the referral's state.
 * No schema has room for a person's data: free text is limited to reasons and notes.
 */

const Text = (max: number) => z.string().trim().min(1).max(max);
/** Organisation codes (IOM, SSDO, …) as the protection track checks them. */
const OrganisationCode = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, 'an organisation code (letters, digits, "_" and "-", at most 32)');
const TaskId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-" only (at most 64)');
/** A step of an SLA clock (`acknowledge`, `screening`, `partnerTask:T1`, …). */
const StepName = z.string().regex(/^[A-Za-z][A-Za-z0-9:._-]{0,99}$/, 'an SLA step name');

export const ActorRole = z.enum(['OFFICER', 'SUPERVISOR', 'OPERATOR', 'PARTNER', 'ADMIN']);
export type ActorRole = z.infer<typeof ActorRole>;

/** Who acts: an officer of an agency, or a partner organisation (agency PARTNER + organisation). */
export const Actor = z
  .object({
    actorId: Text(100),
    agency: AgencyCode,
    role: ActorRole,
    organisation: OrganisationCode.optional(),
  })
  .strict()
  .superRefine((actor, ctx) => {
    if (actor.agency === 'PARTNER' && actor.organisation === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['organisation'], message: 'required when agency is PARTNER' });
    }
  });
export type Actor = z.infer<typeof Actor>;

const base = { actor: Actor, reason: Text(2000).optional() };
const Consent = z.enum(['GIVEN', 'REFUSED', 'NOT_REQUIRED']);

export const AcknowledgeActionV1 = z.object({ ...base }).strict();
export type AcknowledgeActionV1 = z.infer<typeof AcknowledgeActionV1>;

export const ScreeningActionV1 = z
  .object({
    ...base,
    outcome: z.enum(['CONFIRMED', 'NOT_A_CASE']),
    caseType: CaseType.optional(),
    victimIdentified: z.boolean(),
    victimAtRisk: z.boolean(),
    consent: Consent,
    consentOverride: z.object({ reason: Text(2000) }).strict().optional(),
  })
  .strict();
export type ScreeningActionV1 = z.infer<typeof ScreeningActionV1>;

export const ReclassifyActionV1 = z.object({ ...base, caseType: CaseType, reason: Text(2000) }).strict();
export type ReclassifyActionV1 = z.infer<typeof ReclassifyActionV1>;

export const CloseActionV1 = z.object({ ...base, reason: Text(2000) }).strict();
export type CloseActionV1 = z.infer<typeof CloseActionV1>;

/** Which workflow's clock an extension or reassignment moves. */
export const ActionTrack = z.enum(['referral', 'justice', 'protection']);
export type ActionTrack = z.infer<typeof ActionTrack>;

const Extension = z.union([
  z.object({ hours: z.number().int().min(1).max(24 * 365) }).strict(),
  z.object({ days: z.number().int().min(1).max(365) }).strict(),
]);

export const ExtendDeadlineActionV1 = z.object({ ...base, step: StepName, by: Extension, reason: Text(2000) }).strict();
export type ExtendDeadlineActionV1 = z.infer<typeof ExtendDeadlineActionV1>;

export const ReassignActionV1 = z.object({ ...base, step: StepName, assignee: Text(100), reason: Text(2000) }).strict();
export type ReassignActionV1 = z.infer<typeof ReassignActionV1>;

export const RegisterCaseActionV1 = z
  .object({ ...base, decision: z.enum(['REGISTERED', 'NO_CASE']), caseNumber: Text(100).optional() })
  .strict();
export type RegisterCaseActionV1 = z.infer<typeof RegisterCaseActionV1>;

export const InvestigationReportActionV1 = z.object({ ...base, kind: z.enum(['INTERIM', 'FINAL']) }).strict();
export type InvestigationReportActionV1 = z.infer<typeof InvestigationReportActionV1>;

export const ChargeDecisionActionV1 = z.object({ ...base, decision: z.enum(['CHARGED', 'NOT_CHARGED']) }).strict();
export type ChargeDecisionActionV1 = z.infer<typeof ChargeDecisionActionV1>;

export const TrialUpdateActionV1 = z.object({ ...base, note: Text(4000) }).strict();
export type TrialUpdateActionV1 = z.infer<typeof TrialUpdateActionV1>;

export const VerdictActionV1 = z.object({ ...base, verdict: z.enum(['CONVICTED', 'ACQUITTED', 'PARTLY_CONVICTED']) }).strict();
export type VerdictActionV1 = z.infer<typeof VerdictActionV1>;

export const AppealActionV1 = z.object({ ...base, by: z.enum(['PROSECUTION', 'DEFENCE']) }).strict();
export type AppealActionV1 = z.infer<typeof AppealActionV1>;

export const ContentBlockActionV1 = z.object({ ...base, result: z.enum(['BLOCKED', 'NOT_FOUND', 'REFUSED']) }).strict();
export type ContentBlockActionV1 = z.infer<typeof ContentBlockActionV1>;

export const LicenceCheckActionV1 = z.object({ ...base, result: z.enum(['LICENSED', 'UNLICENSED', 'SUSPENDED']) }).strict();
export type LicenceCheckActionV1 = z.infer<typeof LicenceCheckActionV1>;

export const PartnerTaskKind = z.enum(['SHELTER', 'MEDICAL', 'PSYCHOSOCIAL', 'LEGAL_AID', 'FAMILY_TRACING', 'LIVELIHOOD', 'EDUCATION']);

export const ProtectionPlacementActionV1 = z
  .object({ ...base, placement: z.enum(['SHELTER', 'MEDICAL', 'FAMILY', 'CHILD_PROTECTION']) })
  .strict();
export type ProtectionPlacementActionV1 = z.infer<typeof ProtectionPlacementActionV1>;

export const ReintegrationPlanActionV1 = z
  .object({
    ...base,
    partner: OrganisationCode,
    tasks: z
      .array(z.object({ taskId: TaskId, kind: PartnerTaskKind, partner: OrganisationCode }).strict())
      .min(1)
      .max(50)
      .superRefine((tasks, ctx) => {
        const seen = new Set<string>();
        tasks.forEach((t, i) => {
          if (seen.has(t.taskId)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, 'taskId'], message: 'duplicate task id' });
          seen.add(t.taskId);
        });
      }),
  })
  .strict();
export type ReintegrationPlanActionV1 = z.infer<typeof ReintegrationPlanActionV1>;

export const CompleteTaskActionV1 = z
  .object({ ...base, taskId: TaskId, outcome: z.enum(['DONE', 'NOT_POSSIBLE']), notes: Text(4000).optional() })
  .strict();
export type CompleteTaskActionV1 = z.infer<typeof CompleteTaskActionV1>;

export const FollowUpActionV1 = z
  .object({ ...base, month: z.number().int().min(1).max(120), status: z.enum(['STABLE', 'NEEDS_SUPPORT', 'LOST_CONTACT']) })
  .strict();
export type FollowUpActionV1 = z.infer<typeof FollowUpActionV1>;

// --- events ---

/** The event's data: the referral it is about, then the action's payload. */
function actionData<S extends z.ZodRawShape>(payload: z.ZodObject<S, 'strict'>) {
  return payload.extend({ referralId: ReferralId });
}
/** Clock changes also name the workflow whose clock moves (default: the referral's own). */
function clockData<S extends z.ZodRawShape>(payload: z.ZodObject<S, 'strict'>) {
  return payload.extend({ referralId: ReferralId, track: ActionTrack.default('referral') });
}

function actionEvent<T extends string, D extends z.ZodTypeAny>(type: T, data: D) {
  return CloudEventContext.extend({ type: z.literal(type), data });
}

export const AcknowledgeEvent = actionEvent('referral.action.acknowledge.v1', actionData(AcknowledgeActionV1));
export const CompleteScreeningEvent = actionEvent('referral.action.complete-screening.v1', actionData(ScreeningActionV1));
export const ReclassifyEvent = actionEvent('referral.action.reclassify.v1', actionData(ReclassifyActionV1));
export const WithdrawEvent = actionEvent('referral.action.withdraw.v1', actionData(CloseActionV1));
export const ExtendDeadlineEvent = actionEvent('referral.action.extend-deadline.v1', clockData(ExtendDeadlineActionV1));
export const ReassignStepEvent = actionEvent('referral.action.reassign-step.v1', clockData(ReassignActionV1));
export const RegisterCaseEvent = actionEvent('referral.action.register-case.v1', actionData(RegisterCaseActionV1));
export const InvestigationReportEvent = actionEvent('referral.action.investigation-report.v1', actionData(InvestigationReportActionV1));
export const ChargeDecisionEvent = actionEvent('referral.action.charge-decision.v1', actionData(ChargeDecisionActionV1));
export const TrialUpdateEvent = actionEvent('referral.action.trial-update.v1', actionData(TrialUpdateActionV1));
export const VerdictEvent = actionEvent('referral.action.verdict.v1', actionData(VerdictActionV1));
export const AppealEvent = actionEvent('referral.action.appeal.v1', actionData(AppealActionV1));
export const ContentBlockEvent = actionEvent('referral.action.content-block.v1', actionData(ContentBlockActionV1));
export const LicenceCheckEvent = actionEvent('referral.action.licence-check.v1', actionData(LicenceCheckActionV1));
export const ProtectionPlacementEvent = actionEvent('referral.action.protection-placement.v1', actionData(ProtectionPlacementActionV1));
export const ReintegrationPlanEvent = actionEvent('referral.action.reintegration-plan.v1', actionData(ReintegrationPlanActionV1));
export const CompleteTaskEvent = actionEvent('referral.action.complete-task.v1', actionData(CompleteTaskActionV1));
export const FollowUpEvent = actionEvent('referral.action.follow-up.v1', actionData(FollowUpActionV1));

/** Every event type the actions topic accepts: a discriminated union of versioned literal types. */
export const ActionEvent = z.discriminatedUnion('type', [
  AcknowledgeEvent,
  CompleteScreeningEvent,
  ReclassifyEvent,
  WithdrawEvent,
  ExtendDeadlineEvent,
  ReassignStepEvent,
  RegisterCaseEvent,
  InvestigationReportEvent,
  ChargeDecisionEvent,
  TrialUpdateEvent,
  VerdictEvent,
  AppealEvent,
  ContentBlockEvent,
  LicenceCheckEvent,
  ProtectionPlacementEvent,
  ReintegrationPlanEvent,
  CompleteTaskEvent,
  FollowUpEvent,
]);
export type ActionEvent = z.infer<typeof ActionEvent>;
export type ActionEventType = ActionEvent['type'];

export const actionEventTypes: readonly ActionEventType[] = ActionEvent.options.map((o) => o.shape.type.value);

export interface ActionTarget {
  /** The workflow the update goes to: `referral-<id>`, `referral-<id>-justice` or `referral-<id>-protection`. */
  track: ActionTrack;
  /** The update's name, as defined in workflows/messages.ts. */
  update: string;
  /** The track is read from the event's `data.track` (default `referral`); `track` above is that default. */
  trackFromData?: true;
}

/** Event type → the workflow and update it acts on. */
export const actionTargets: { readonly [T in ActionEventType]: ActionTarget } = {
  'referral.action.acknowledge.v1': { track: 'referral', update: 'acknowledge' },
  'referral.action.complete-screening.v1': { track: 'referral', update: 'completeScreening' },
  'referral.action.reclassify.v1': { track: 'referral', update: 'reclassify' },
  'referral.action.withdraw.v1': { track: 'referral', update: 'withdrawReferral' },
  'referral.action.extend-deadline.v1': { track: 'referral', update: 'extendDeadline', trackFromData: true },
  'referral.action.reassign-step.v1': { track: 'referral', update: 'reassignStep', trackFromData: true },
  'referral.action.register-case.v1': { track: 'justice', update: 'registerCase' },
  'referral.action.investigation-report.v1': { track: 'justice', update: 'submitInvestigationReport' },
  'referral.action.charge-decision.v1': { track: 'justice', update: 'recordChargeDecision' },
  'referral.action.trial-update.v1': { track: 'justice', update: 'recordTrialUpdate' },
  'referral.action.verdict.v1': { track: 'justice', update: 'recordVerdict' },
  'referral.action.appeal.v1': { track: 'justice', update: 'fileAppeal' },
  'referral.action.content-block.v1': { track: 'justice', update: 'confirmContentBlock' },
  'referral.action.licence-check.v1': { track: 'justice', update: 'recordLicenceCheck' },
  'referral.action.protection-placement.v1': { track: 'protection', update: 'recordProtectionPlacement' },
  'referral.action.reintegration-plan.v1': { track: 'protection', update: 'agreeReintegrationPlan' },
  'referral.action.complete-task.v1': { track: 'protection', update: 'completePartnerTask' },
  'referral.action.follow-up.v1': { track: 'protection', update: 'recordFollowUp' },
};

/** The workflow track, update name and update argument (the data without `referralId` and `track`) of an action. */
export function resolveAction(event: ActionEvent): { track: ActionTrack; update: string; payload: Record<string, unknown> } {
  const target = actionTargets[event.type];
  const { referralId: _referralId, ...rest } = event.data;
  if (target.trackFromData && 'track' in rest) {
    const { track, ...payload } = rest;
    return { track, update: target.update, payload };
  }
  return { track: target.track, update: target.update, payload: rest };
}

// --- compile-time alignment with workflows/actions.ts ---

/** Z (what the schema lets through) fits T (what the workflow expects), with the same fields. */
type Aligned<Z, T> = [Z] extends [T] ? ([keyof Z] extends [keyof T] ? ([keyof T] extends [keyof Z] ? true : false) : false) : false;
type Assert<T extends true> = T;
type _Aligned = [
  Assert<Aligned<Actor, Types.WireActor>>,
  // The workflows' actor is the sender's plus what the bridge vouches with and the jurisdiction the
  // API's authenticated identity carries, and nothing else…
  Assert<Aligned<Actor & { assertedBy?: string; jurisdiction?: { province: string; district?: string } }, Types.Actor>>,
  // …which a sender cannot state: the wire schema has no such fields (and is strict).
  Assert<'assertedBy' extends keyof Actor ? false : true>,
  Assert<'jurisdiction' extends keyof Actor ? false : true>,
  Assert<Aligned<AcknowledgeActionV1, Types.AcknowledgeAction>>,
  Assert<Aligned<ScreeningActionV1, Types.ScreeningAction>>,
  Assert<Aligned<ReclassifyActionV1, Types.ReclassifyAction>>,
  Assert<Aligned<CloseActionV1, Types.CloseAction>>,
  Assert<Aligned<ExtendDeadlineActionV1, Types.ExtendDeadlineAction>>,
  Assert<Aligned<ReassignActionV1, Types.ReassignAction>>,
  Assert<Aligned<RegisterCaseActionV1, Types.RegisterCaseAction>>,
  Assert<Aligned<InvestigationReportActionV1, Types.InvestigationReportAction>>,
  Assert<Aligned<ChargeDecisionActionV1, Types.ChargeDecisionAction>>,
  Assert<Aligned<TrialUpdateActionV1, Types.TrialUpdateAction>>,
  Assert<Aligned<VerdictActionV1, Types.VerdictAction>>,
  Assert<Aligned<AppealActionV1, Types.AppealAction>>,
  Assert<Aligned<ContentBlockActionV1, Types.ContentBlockAction>>,
  Assert<Aligned<LicenceCheckActionV1, Types.LicenceCheckAction>>,
  Assert<Aligned<ProtectionPlacementActionV1, Types.ProtectionPlacementAction>>,
  Assert<Aligned<ReintegrationPlanActionV1, Types.ReintegrationPlanAction>>,
  Assert<Aligned<CompleteTaskActionV1, Types.CompleteTaskAction>>,
  Assert<Aligned<FollowUpActionV1, Types.FollowUpAction>>,
];
