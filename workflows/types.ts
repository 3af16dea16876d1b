import type { ReferralDetectedV1 } from '../schemas/intake.js';
import type { Policy } from '../schemas/policy.js';
import type { RoutedDecision, RoutingDecision } from '../schemas/routing.js';
import type { Actor } from './actions.js';
import type { AppliedAction } from './dedupe-window.js';

/** Start input of the referral workflow. `referral.persons` is sensitive: encrypted by the payload codec. */
export interface ReferralWorkflowInput {
  referral: ReferralDetectedV1;
  /** The policy in force when the referral started: it keeps it for its whole life. */
  policy: Policy;
  /** CloudEvent id and source of the intake event that opened the referral. */
  intake: { eventId: string; source: string };
}

export type ReferralStage =
  | 'ROUTING'
  | 'ROUTED'
  | 'UNROUTED'
  | 'SCREENING'
  | 'IN_PROGRESS'
  | 'CLOSED';

export interface AuditEntry {
  at: string;
  action: string;
  actor: string;
  agency: string;
  /** Who vouched for the actor of the action this entry records (Actor.assertedBy): `NCCIA`, `PARTNER:IOM`. */
  assertedBy?: string;
  reason?: string;
  /** Which workflow recorded it: referral, justice or protection. */
  track?: 'referral' | 'justice' | 'protection';
  details?: Record<string, string | number | boolean>;
}

/** One SLA clock, as the state query shows it. */
export interface SlaClockView {
  step: string;
  responsible: string;
  status: 'RUNNING' | 'MET' | 'CANCELLED';
  startedAt: string;
  deadline: string;
  breached: boolean;
  firedRungs: string[];
  metAt?: string;
  assignee?: string;
  extensions: number;
  /** Working days the extensions added, where the policy caps them. */
  extendedWorkingDays?: number;
}

export interface TrackSummary {
  stage: string;
  closed: boolean;
  nextDeadline?: string;
  breached: boolean;
}

/** What the state query returns: no personal data, so any operator may read it. */
export interface ReferralState {
  referralId: string;
  stage: ReferralStage;
  policyVersion: string;
  caseType?: string;
  priority?: string;
  /** Where the referral happened (its facts' province and district as reported): decides its committees. */
  location?: { province: string; district: string };
  routing?: RoutingDecision;
  closedReason?: string;
  consent?: string;
  victimIdentified?: boolean;
  tracks?: { justice?: TrackSummary; protection?: TrackSummary };
  sla?: SlaClockView[];
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

/** What both tracks share: who the parties are and the facts notifications may carry. */
export interface TrackContext {
  referralId: string;
  parentWorkflowId: string;
  policy: Policy;
  urgent: boolean;
  priority: 'URGENT' | 'HIGH' | 'NORMAL';
  province: ReferralDetectedV1['facts']['location']['province'];
  district: string;
  routing: RoutedDecision;
}

export interface JusticeInput extends TrackContext {
  /** Carried over continue-as-new: the track's state so far. */
  carried?: JusticeCarried;
}

export interface JusticeCarried {
  stage: string;
  timeline: AuditEntry[];
  routing: RoutedDecision;
  statusUpdates: number;
  appeals: number;
  /** Action ids applied so far, within the policy's window (ACTION_DEDUPE_WINDOW_PATCH). */
  appliedActions?: AppliedAction[];
}

export interface ProtectionInput extends TrackContext {
  victimAtRisk: boolean;
  /** Identification time: the reintegration plan is due a fixed time after it. */
  identifiedAt: string;
  carried?: ProtectionCarried;
}

export interface PartnerTask {
  taskId: string;
  kind: string;
  partner: string;
  status: 'OPEN' | 'DONE' | 'NOT_POSSIBLE';
  completedAt?: string;
  dueBy: string;
}

export interface ProtectionCarried {
  stage: string;
  timeline: AuditEntry[];
  tasks: PartnerTask[];
  reintegratedAt: string;
  followUpsDone: number[];
  /** Action ids applied so far, within the policy's window (ACTION_DEDUPE_WINDOW_PATCH). */
  appliedActions?: AppliedAction[];
}

export interface JusticeState {
  referralId: string;
  stage: string;
  lead: string;
  caseType: string;
  caseNumber?: string;
  chargeDecision?: string;
  verdict?: string;
  contentBlock?: string;
  licenceCheck?: string;
  statusUpdates: number;
  sla: SlaClockView[];
  timeline: AuditEntry[];
}

export interface ProtectionState {
  referralId: string;
  stage: string;
  placement?: string;
  partner?: string;
  tasks: PartnerTask[];
  followUpsDone: number[];
  sla: SlaClockView[];
  timeline: AuditEntry[];
}

export type { Actor };
