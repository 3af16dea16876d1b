import type { Client, WorkflowHandle } from '@temporalio/client';
import { startReferral as startReferralWorkflow } from '../bridge/intake.js';
import { loadPolicy } from '../config/policy.js';
import { defaultPolicyFile } from '../config/env.js';
import { routeCase } from '../domain/routing.js';
import type { ReferralDetectedV1 } from '../schemas/intake.js';
import type { Policy } from '../schemas/policy.js';
import { sampleReferrals } from '../scripts/samples/referrals.js';
import type { Actor } from '../workflows/actions.js';
import { encodeCloudEvent } from '../messaging/cloudevents.js';
import type { OutboundRecord } from '../messaging/records.js';

export const shippedPolicy = (): Promise<Policy> => loadPolicy(defaultPolicyFile);

/** A copy of the policy with some SLA steps' deadlines replaced (e.g. a 72 s acknowledgement). */
export function withSla(policy: Policy, changes: Record<string, Policy['sla'][string]['deadline']>): Policy {
  const sla = { ...policy.sla };
  for (const [step, deadline] of Object.entries(changes)) sla[step] = { ...sla[step]!, deadline };
  return { ...policy, version: `${policy.version}+bench`, sla };
}

/**
 * N detections cycling through the three sample referrals (fraudulent job ad, trafficking of a
 * minor, smuggling), each with its own id: same sizes and routing as the demo's.
 */
export function detections(prefix: string, n: number, now = new Date()): ReferralDetectedV1[] {
  return Array.from({ length: n }, (_, i) => {
    const sample = sampleReferrals(`${prefix}-${i}`, now)[i % 3]!;
    return sample;
  });
}

/** Same as detections(), but only non-urgent cases of one type: SLA clocks on the normal deadline. */
export function plainDetections(prefix: string, n: number, now = new Date()): ReferralDetectedV1[] {
  const smuggling = sampleReferrals('x', now)[2]!;
  return Array.from({ length: n }, (_, i) => ({ ...smuggling, referralId: `${prefix}-${i}` }));
}

export function leadOf(policy: Policy, referral: ReferralDetectedV1): string {
  const decision = routeCase({ chargeMatrix: policy.chargeMatrix, flagAdditions: policy.flagAdditions }, referral.facts);
  if (decision.status !== 'ROUTED') throw new Error(`sample ${referral.referralId} does not route`);
  return decision.lead;
}

export const workflowId = (referralId: string) => `referral-${referralId}`;

/** Starts a referral through the intake bridge's own start (same input, id policy and search attributes), without Kafka. */
export async function startReferral(client: Client, taskQueue: string, referral: ReferralDetectedV1, policy: Policy): Promise<WorkflowHandle> {
  await startReferralWorkflow({ client, taskQueue, policy }, referral, { eventId: `detected-${referral.referralId}`, source: 'urn:agency:bench' });
  return client.workflow.getHandle(workflowId(referral.referralId));
}

export const actor = (agency: string, role: Actor['role'] = 'OFFICER', organisation?: string): Actor => ({
  actorId: `bench-${agency.toLowerCase()}-${role.toLowerCase()}`,
  agency,
  role,
  ...(organisation ? { organisation } : {}),
});

/** The lead's acknowledgement of a referral on its own actions topic, id `ack-<referralId>`: the action both scenarios time. */
export function acknowledgementRecord(topic: string, lead: string, referralId: string, by: Actor = actor(lead)): OutboundRecord {
  return encodeCloudEvent(topic, {
    id: `ack-${referralId}`,
    source: `urn:agency:${lead.toLowerCase()}`,
    type: 'referral.action.acknowledge.v1',
    subject: referralId,
    time: new Date().toISOString(),
    data: { referralId, actor: by },
  });
}

/** The routed notification an agency's lead receives: what "routed" means for the bench. */
export function isLeadRouted(headers: Record<string, string>, value: Buffer | null): boolean {
  if (headers['ce_type'] !== 'referral.routed.v1' || !value) return false;
  return (JSON.parse(value.toString()) as { role?: string }).role === 'LEAD';
}
