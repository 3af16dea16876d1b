/**
 * Who acts on a referral, and the payloads of every agency action. Plain types: validated at the
 * boundary (Kafka, API) with zod before they reach a workflow, and checked again by the
 * workflows' update validators against the referral's state (parties, transitions).
 */
export type ActorRole = 'OFFICER' | 'SUPERVISOR' | 'OPERATOR' | 'PARTNER' | 'ADMIN';

/** The actor as the sender states it: exactly what the wire schema (schemas/actions.ts Actor) accepts. */
export interface WireActor {
  actorId: string;
  /** Agency code (FIA, NCCIA, …) or PARTNER for a reintegration partner. */
  agency: string;
  role: ActorRole;
  /** The partner organisation (IOM, SSDO, …) when agency is PARTNER. */
  organisation?: string;
}

export interface Actor extends WireActor {
  /**
   * Who vouches for this actor, when it is not the engine itself: the agency code of the Kafka
   * topic the action arrived on (`NCCIA`), or `PARTNER:<ORG>` for a partner organisation. The
   * broker authenticated that sender; the officer's id and role are the sender's own statement
   * about its staff. Added by the actions bridge, never accepted from a sender; absent for
   * actions through the HTTP API, which authenticated the person itself.
   */
  assertedBy?: string;
  /**
   * Where a committee acts (`{ province, district? }`, district as a code): set by the HTTP API from
   * the authenticated identity, never accepted from a sender over Kafka. A district or provincial
   * committee without it is a party to no referral.
   */
  jurisdiction?: { province: string; district?: string };
}

export interface ActionBase {
  actor: Actor;
  reason?: string;
}

export type Consent = 'GIVEN' | 'REFUSED' | 'NOT_REQUIRED';

export type AcknowledgeAction = ActionBase;

export interface ScreeningAction extends ActionBase {
  outcome: 'CONFIRMED' | 'NOT_A_CASE';
  /** The case type screening found; may differ from the reported one (re-classification). */
  caseType?: 'TRAFFICKING' | 'SMUGGLING' | 'FRAUDULENT_JOB_AD';
  victimIdentified: boolean;
  victimAtRisk: boolean;
  consent: Consent;
  /** An authorised role may refer without an adult victim's consent, with a reason. */
  consentOverride?: { reason: string };
}

export interface ReclassifyAction extends ActionBase {
  caseType: 'TRAFFICKING' | 'SMUGGLING' | 'FRAUDULENT_JOB_AD';
  reason: string;
}

export interface ExtendDeadlineAction extends ActionBase {
  step: string;
  by: { hours: number } | { days: number };
  reason: string;
}

export interface ReassignAction extends ActionBase {
  step: string;
  assignee: string;
  reason: string;
}

export interface CloseAction extends ActionBase {
  reason: string;
}

export interface RegisterCaseAction extends ActionBase {
  decision: 'REGISTERED' | 'NO_CASE';
  /** Case/FIR number: an official reference, not personal data. */
  caseNumber?: string;
}

export interface InvestigationReportAction extends ActionBase {
  kind: 'INTERIM' | 'FINAL';
}

export interface ChargeDecisionAction extends ActionBase {
  decision: 'CHARGED' | 'NOT_CHARGED';
}

export interface TrialUpdateAction extends ActionBase {
  note: string;
}

export interface VerdictAction extends ActionBase {
  verdict: 'CONVICTED' | 'ACQUITTED' | 'PARTLY_CONVICTED';
}

export interface AppealAction extends ActionBase {
  by: 'PROSECUTION' | 'DEFENCE';
}

export interface ContentBlockAction extends ActionBase {
  result: 'BLOCKED' | 'NOT_FOUND' | 'REFUSED';
}

export interface LicenceCheckAction extends ActionBase {
  result: 'LICENSED' | 'UNLICENSED' | 'SUSPENDED';
}

export type PartnerTaskKind = 'SHELTER' | 'MEDICAL' | 'PSYCHOSOCIAL' | 'LEGAL_AID' | 'FAMILY_TRACING' | 'LIVELIHOOD' | 'EDUCATION';

export interface ProtectionPlacementAction extends ActionBase {
  placement: 'SHELTER' | 'MEDICAL' | 'FAMILY' | 'CHILD_PROTECTION';
}

export interface ReintegrationPlanAction extends ActionBase {
  partner: string;
  tasks: Array<{ taskId: string; kind: PartnerTaskKind; partner: string }>;
}

export interface CompleteTaskAction extends ActionBase {
  taskId: string;
  outcome: 'DONE' | 'NOT_POSSIBLE';
  notes?: string;
}

export interface FollowUpAction extends ActionBase {
  month: number;
  status: 'STABLE' | 'NEEDS_SUPPORT' | 'LOST_CONTACT';
}
