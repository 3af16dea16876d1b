import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AcknowledgeAction,
  AppealAction,
  ChargeDecisionAction,
  CloseAction,
  CompleteTaskAction,
  ContentBlockAction,
  ExtendDeadlineAction,
  FollowUpAction,
  InvestigationReportAction,
  LicenceCheckAction,
  ProtectionPlacementAction,
  ReassignAction,
  ReclassifyAction,
  RegisterCaseAction,
  ReintegrationPlanAction,
  ScreeningAction,
  TrialUpdateAction,
  VerdictAction,
} from './actions.js';
import type { CloseRequest, JusticeState, ProtectionState, ReferralState, TrackSummary } from './types.js';
import type { Person } from '../schemas/intake.js';
import type { RoutedDecision } from '../schemas/routing.js';

/**
 * Every query, signal and update of the referral workflow and its two track workflows, in one
 * place. Agency actions are updates: the validator rejects an invalid action or transition
 * before anything is written to history, and the caller gets the reason.
 */

// --- referral (parent): workflow id `referral-<id>` ---
export const referralStateQuery = defineQuery<ReferralState>('referralState');
/** The persons named in the referral: personal data, answered encrypted, shown only to roles that need it. */
export const referralPersonsQuery = defineQuery<Person[]>('referralPersons');
/** Kept from the first version: closes a referral (operators, admins). */
export const closeReferralUpdate = defineUpdate<ReferralState, [CloseRequest]>('closeReferral');
export const acknowledgeUpdate = defineUpdate<ReferralState, [AcknowledgeAction]>('acknowledge');
export const completeScreeningUpdate = defineUpdate<ReferralState, [ScreeningAction]>('completeScreening');
export const reclassifyUpdate = defineUpdate<ReferralState, [ReclassifyAction]>('reclassify');
export const withdrawReferralUpdate = defineUpdate<ReferralState, [CloseAction]>('withdrawReferral');
/** From a track to its referral: the track's stage and clocks changed. */
export const trackUpdatedSignal = defineSignal<[{ track: 'justice' | 'protection'; summary: TrackSummary }]>('trackUpdated');

// --- shared by all three workflows: move a step's SLA clock ---
export const extendDeadlineUpdate = defineUpdate<{ step: string; deadline: string }, [ExtendDeadlineAction]>('extendDeadline');
export const reassignStepUpdate = defineUpdate<{ step: string; deadline: string }, [ReassignAction]>('reassignStep');

// --- justice track: workflow id `referral-<id>-justice` ---
export const justiceStateQuery = defineQuery<JusticeState>('justiceState');
export const registerCaseUpdate = defineUpdate<JusticeState, [RegisterCaseAction]>('registerCase');
export const investigationReportUpdate = defineUpdate<JusticeState, [InvestigationReportAction]>('submitInvestigationReport');
export const chargeDecisionUpdate = defineUpdate<JusticeState, [ChargeDecisionAction]>('recordChargeDecision');
export const trialUpdateUpdate = defineUpdate<JusticeState, [TrialUpdateAction]>('recordTrialUpdate');
export const verdictUpdate = defineUpdate<JusticeState, [VerdictAction]>('recordVerdict');
export const appealUpdate = defineUpdate<JusticeState, [AppealAction]>('fileAppeal');
export const contentBlockUpdate = defineUpdate<JusticeState, [ContentBlockAction]>('confirmContentBlock');
export const licenceCheckUpdate = defineUpdate<JusticeState, [LicenceCheckAction]>('recordLicenceCheck');
/** From the referral to its justice track: re-classification changed the route. */
export const leadChangedSignal = defineSignal<[{ routing: RoutedDecision; actor: string; agency: string; assertedBy?: string; reason: string }]>('leadChanged');
/** From the referral: stop the track (the referral was withdrawn). */
export const stopTrackSignal = defineSignal<[{ reason: string }]>('stopTrack');

// --- protection track: workflow id `referral-<id>-protection` ---
export const protectionStateQuery = defineQuery<ProtectionState>('protectionState');
export const protectionPlacementUpdate = defineUpdate<ProtectionState, [ProtectionPlacementAction]>('recordProtectionPlacement');
export const reintegrationPlanUpdate = defineUpdate<ProtectionState, [ReintegrationPlanAction]>('agreeReintegrationPlan');
export const completeTaskUpdate = defineUpdate<ProtectionState, [CompleteTaskAction]>('completePartnerTask');
export const followUpUpdate = defineUpdate<ProtectionState, [FollowUpAction]>('recordFollowUp');

// The workflow id rules live in workflows/ids.ts.
export { justiceWorkflowId, protectionWorkflowId } from './ids.js';
