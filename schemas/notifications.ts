import { z } from 'zod';
import { AgencyCode, CaseType, IsoDateTime, Priority, Province, ReferralId, ReportedCaseType } from './common.js';

/** Where a referral stands and where it is, as every notification carries it: no person's data. */
const caseContext = {
  stage: z.string(),
  province: Province,
  district: z.string(),
  priority: Priority,
};

/** Why an agency receives a notification. */
export const RecipientRole = z.enum(['LEAD', 'SUPPORTING', 'INFORMED', 'ESCALATION']);
export type RecipientRole = z.infer<typeof RecipientRole>;

/**
 * data of `referral.routed.v1`: need-to-know only. Ids, case type, stage, district, deadlines and
 * what the recipient must do; never a person's name, contact, exact location or health.
 */
export const ReferralRoutedV1 = z
  .object({
    referralId: ReferralId,
    caseType: CaseType,
    ...caseContext,
    recipient: AgencyCode,
    role: RecipientRole,
    lead: AgencyCode,
    ruleId: z.string(),
    actionRequired: z.string(),
    dueBy: IsoDateTime.optional(),
    policyVersion: z.string(),
  })
  .strict();
export type ReferralRoutedV1 = z.infer<typeof ReferralRoutedV1>;

/** data of `referral.unrouted.v1`: the charge matrix could not route; a committee must decide. */
export const ReferralUnroutedV1 = z
  .object({
    referralId: ReferralId,
    caseType: ReportedCaseType,
    ...caseContext,
    recipient: AgencyCode,
    reason: z.string(),
    policyVersion: z.string(),
  })
  .strict();
export type ReferralUnroutedV1 = z.infer<typeof ReferralUnroutedV1>;

/** data of `referral.sla.v1`: a reminder, breach or escalation of one SLA step. */
export const ReferralSlaV1 = z
  .object({
    referralId: ReferralId,
    caseType: ReportedCaseType,
    ...caseContext,
    recipient: z.string(),
    step: z.string(),
    rung: z.string(),
    kind: z.enum(['REMINDER', 'BREACH', 'ESCALATION']),
    /** Who must act on the step. */
    responsible: z.string(),
    /** Which rung of the ladder the recipient stands on. */
    recipientRole: z.string(),
    deadline: IsoDateTime,
    actionRequired: z.string(),
    policyVersion: z.string(),
  })
  .strict();
export type ReferralSlaV1 = z.infer<typeof ReferralSlaV1>;

/** data of `referral.stage.v1`: a lifecycle step happened; to the operators' stream and to whoever must act next. */
export const ReferralStageV1 = z
  .object({
    referralId: ReferralId,
    caseType: ReportedCaseType,
    ...caseContext,
    track: z.enum(['referral', 'justice', 'protection']),
    recipient: z.string(),
    action: z.string(),
    actorAgency: z.string(),
    lead: z.string().optional(),
    actionRequired: z.string().optional(),
    dueBy: IsoDateTime.optional(),
    policyVersion: z.string(),
  })
  .strict();
export type ReferralStageV1 = z.infer<typeof ReferralStageV1>;

/** Why an agency's action (a `referral.action.*.v1` event) was not applied. */
/** ACTOR_MISMATCH: the message names another agency (or role) than the one whose topic it came on. */
export const ActionRejectionCode = z.enum(['VALIDATION', 'INVALID_TRANSITION', 'NOT_A_PARTY', 'FORBIDDEN', 'UNKNOWN_REFERRAL', 'REFERRAL_CLOSED', 'ACTOR_MISMATCH']);
export type ActionRejectionCode = z.infer<typeof ActionRejectionCode>;

export const ActionRejectionReason = z
  .object({
    code: ActionRejectionCode,
    /** What was wrong, starting with the field when there is one (`actor.agency: …`). */
    message: z.string(),
    /** The (first) field at fault, e.g. `data.actor.role` or `actor.agency`. */
    field: z.string().optional(),
    /** VALIDATION: every field error, `path: message`. */
    errors: z.array(z.string()).optional(),
  })
  .strict();
export type ActionRejectionReason = z.infer<typeof ActionRejectionReason>;

/**
 * data of `referral.action.accepted.v1`: the action was applied (or had been: a redelivered action
 * with the same CloudEvent id is answered again, and applied once). Sent to the acting agency's topic.
 */
export const ActionAcceptedV1 = z
  .object({
    referralId: ReferralId,
    /** The CloudEvent id of the action. */
    actionId: z.string(),
    /** The action's CloudEvent type, e.g. `referral.action.acknowledge.v1`. */
    action: z.string(),
    outcome: z.literal('ACCEPTED'),
  })
  .strict();
export type ActionAcceptedV1 = z.infer<typeof ActionAcceptedV1>;

/**
 * data of `referral.action.rejected.v1`: the action was not applied, and why. `referralId` and
 * `action` are absent when an invalid action did not carry a usable one.
 */
export const ActionRejectedV1 = z
  .object({
    referralId: ReferralId.optional(),
    actionId: z.string(),
    action: z.string().optional(),
    outcome: z.literal('REJECTED'),
    reason: ActionRejectionReason,
  })
  .strict();
export type ActionRejectedV1 = z.infer<typeof ActionRejectedV1>;

export const ActionAnswerType = z.enum(['referral.action.accepted.v1', 'referral.action.rejected.v1']);
export type ActionAnswerType = z.infer<typeof ActionAnswerType>;

/** An outbound notification as the workflow builds it, before it is put on Kafka. */
export interface OutboundNotification<T extends string = string, D = unknown> {
  /** Stable id from workflow id and step, never from the attempt: consumers drop duplicates by it. */
  id: string;
  type: T;
  /** The referral id: the Kafka key, so one referral's events keep their order. */
  subject: string;
  time: string;
  recipient: string;
  data: D;
}

export type RoutedNotification = OutboundNotification<'referral.routed.v1', ReferralRoutedV1>;
export type UnroutedNotification = OutboundNotification<'referral.unrouted.v1', ReferralUnroutedV1>;
export type SlaNotification = OutboundNotification<'referral.sla.v1', ReferralSlaV1>;
export type StageNotification = OutboundNotification<'referral.stage.v1', ReferralStageV1>;
export type Notification = RoutedNotification | UnroutedNotification | SlaNotification | StageNotification;

/** Every event type on an agency's notification topic: the workflows' notifications and the answers to its actions. */
export const NotificationType = z.enum([
  'referral.routed.v1',
  'referral.unrouted.v1',
  'referral.sla.v1',
  'referral.stage.v1',
  ...ActionAnswerType.options,
]);
