import { workflowInfo } from '@temporalio/workflow';
import { OPERATORS } from '../domain/recipients.js';
import type { StageNotification } from '../schemas/notifications.js';
import type { Actor } from './actions.js';
import type { AuditEntry, TrackContext } from './types.js';

export interface StageEventSpec {
  track: 'referral' | 'justice' | 'protection';
  stage: string;
  caseType: string;
  action: string;
  actorAgency: string;
  /** Agencies that must act next, with what and by when; operators always get the event too. */
  recipients?: Array<{ agency: string; actionRequired: string; dueBy?: string }>;
  /** Position in the workflow's timeline: makes the event id stable across retries and replays. */
  seq: number;
}

type Facts = Pick<TrackContext, 'referralId' | 'province' | 'district' | 'priority'> & { policyVersion: string; lead?: string };

/** `referral.stage.v1` events for one lifecycle step: to the operators' stream and to whoever must act. */
export function stageEvents(facts: Facts, spec: StageEventSpec): StageNotification[] {
  const now = new Date().toISOString();
  const { workflowId } = workflowInfo();
  const targets = [{ agency: OPERATORS, actionRequired: undefined as string | undefined, dueBy: undefined as string | undefined }, ...(spec.recipients ?? [])];
  return targets.map(({ agency, actionRequired, dueBy }) => ({
    id: `${workflowId}/stage/${spec.seq}.${spec.action}/${agency}`,
    type: 'referral.stage.v1' as const,
    subject: facts.referralId,
    time: now,
    recipient: agency,
    data: {
      referralId: facts.referralId,
      caseType: spec.caseType as StageNotification['data']['caseType'],
      stage: spec.stage,
      track: spec.track,
      province: facts.province,
      district: facts.district,
      priority: facts.priority,
      recipient: agency,
      action: spec.action,
      actorAgency: spec.actorAgency,
      ...(facts.lead ? { lead: facts.lead } : {}),
      ...(actionRequired ? { actionRequired } : {}),
      ...(dueBy ? { dueBy } : {}),
      policyVersion: facts.policyVersion,
    },
  }));
}

/** Appends to a timeline and returns the entry's position (for stable event ids). */
export function record(timeline: AuditEntry[], entry: Omit<AuditEntry, 'at'> & { at?: string }): number {
  timeline.push({ at: entry.at ?? new Date().toISOString(), ...entry });
  return timeline.length;
}

/**
 * The audit fields of an entry an actor's action makes: who, for which agency, and who vouched
 * for them. `assertedBy` only when the action came with one, so entries of actions without it
 * are what they always were.
 */
export function auditActor(actor: Actor): Pick<AuditEntry, 'actor' | 'agency' | 'assertedBy'> {
  return { actor: actor.actorId, agency: actor.agency, ...(actor.assertedBy !== undefined ? { assertedBy: actor.assertedBy } : {}) };
}
