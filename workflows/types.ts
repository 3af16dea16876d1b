import type { ReferralDetectedV1 } from '../schemas/intake.js';
import type { Policy } from '../schemas/policy.js';
import type { RoutingDecision } from '../schemas/routing.js';

/** Start input of the referral workflow. `referral.persons` is sensitive: encrypted by the payload codec. */
export interface ReferralWorkflowInput {
  referral: ReferralDetectedV1;
  /** The policy in force when the referral started: it keeps it for its whole life. */
  policy: Policy;
  /** CloudEvent id and source of the intake event that opened the referral. */
  intake: { eventId: string; source: string };
}

export type ReferralStage = 'ROUTING' | 'ROUTED' | 'UNROUTED' | 'CLOSED';

export interface AuditEntry {
  at: string;
  action: string;
  actor: string;
  agency: string;
  reason?: string;
}

/** What the state query returns: no personal data, so any operator may read it. */
export interface ReferralState {
  referralId: string;
  stage: ReferralStage;
  policyVersion: string;
  routing?: RoutingDecision;
  closedReason?: string;
  timeline: AuditEntry[];
}

export interface CloseRequest {
  actor: string;
  agency: string;
  reason: string;
}

export interface ReferralOutcome {
  referralId: string;
  stage: ReferralStage;
  closedReason?: string;
}
