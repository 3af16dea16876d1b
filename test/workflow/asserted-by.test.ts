import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReferral } from '../../cli/format.js';
import type { Actor } from '../../workflows/actions.js';
import {
  acknowledgeUpdate,
  completeScreeningUpdate,
  completeTaskUpdate,
  extendDeadlineUpdate,
  justiceStateQuery,
  justiceWorkflowId,
  protectionStateQuery,
  protectionWorkflowId,
  referralStateQuery,
  registerCaseUpdate,
  reclassifyUpdate,
  reintegrationPlanUpdate,
  withdrawReferralUpdate,
} from '../../workflows/messages.js';
import type { AuditEntry } from '../../workflows/types.js';
import { detected, workflowInput } from '../support/fixtures.js';
import { startWorkflowHarness, waitFor, type WorkflowHarness } from '../support/workflow-harness.js';

/** As the actions bridge passes an action from an agency's Kafka topic: vouched for by that agency. */
const overKafka = (actor: Actor, assertedBy: string): Actor => ({ ...actor, assertedBy });
const fia: Actor = { actorId: 'fia-io-4', agency: 'FIA', role: 'OFFICER' };
const fiaSupervisor: Actor = { actorId: 'fia-sup-2', agency: 'FIA', role: 'SUPERVISOR' };
const swd: Actor = { actorId: 'swd-3', agency: 'SWD', role: 'OFFICER' };
// The national committee: over Kafka a district committee's jurisdiction is no one's to vouch for.
const committee: Actor = { actorId: 'ahtc-n-chair', agency: 'AHTC-N', role: 'SUPERVISOR' };
const partner = (organisation: string): Actor => ({ actorId: `${organisation.toLowerCase()}-worker`, agency: 'PARTNER', role: 'PARTNER', organisation });

/**
 * Who vouched for an action's actor (Actor.assertedBy: the agency whose topic it came on) is in
 * every timeline entry the action makes, in all three workflows; an action without it (the HTTP
 * API) records none.
 */
describe('the audit trail records who asserted the actor (time-skipping)', () => {
  let h: WorkflowHarness;
  beforeAll(async () => {
    h = await startWorkflowHarness('asserted-by');
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('records assertedBy on the entries of actions that carry it, in the referral and both tracks, and shows it in the CLI', async () => {
    const referral = detected();
    const handle = await h.env.client.workflow.start('referralWorkflow', { workflowId: `referral-${referral.referralId}`, taskQueue: h.taskQueue, args: [workflowInput(referral)] });
    await waitFor(async () => (await handle.query(referralStateQuery)).stage === 'SCREENING');
    await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: overKafka(fia, 'FIA') }] });
    await handle.executeUpdate(completeScreeningUpdate, { args: [{ actor: fia, outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: false, consent: 'GIVEN' }] });

    const justice = h.env.client.workflow.getHandle(justiceWorkflowId(referral.referralId));
    const protection = h.env.client.workflow.getHandle(protectionWorkflowId(referral.referralId));
    await waitFor(async () => (await justice.query(justiceStateQuery).catch(() => undefined))?.stage === 'REGISTRATION');
    await justice.executeUpdate(registerCaseUpdate, { args: [{ actor: overKafka(fia, 'FIA'), decision: 'REGISTERED', caseNumber: 'FIR-3/2026' }] });
    await justice.executeUpdate(extendDeadlineUpdate, {
      args: [{ actor: overKafka(fiaSupervisor, 'FIA'), step: 'investigationReport', by: { days: 3 }, reason: 'forensics awaited' }],
    });
    await waitFor(async () => (await protection.query(protectionStateQuery).catch(() => undefined))?.stage === 'PLANNING');
    await protection.executeUpdate(reintegrationPlanUpdate, {
      args: [{ actor: swd, partner: 'IOM', tasks: [{ taskId: 'med-1', kind: 'MEDICAL', partner: 'IOM' }, { taskId: 'leg-1', kind: 'LEGAL_AID', partner: 'SSDO' }] }],
    });
    await protection.executeUpdate(completeTaskUpdate, { args: [{ actor: overKafka(partner('IOM'), 'PARTNER:IOM'), taskId: 'med-1', outcome: 'DONE' }] });
    await protection.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('SSDO'), taskId: 'leg-1', outcome: 'DONE' }] });

    // A re-classification is recorded by the referral and, as the re-routing it causes, by the justice track.
    await handle.executeUpdate(reclassifyUpdate, { args: [{ actor: overKafka(committee, 'AHTC-N'), caseType: 'SMUGGLING', reason: 'no exploitation found' }] });
    await waitFor(async () => (await justice.query(justiceStateQuery)).timeline.some((e) => e.action === 'REROUTED'));

    // Only the shapes the bridge writes: an agency code, or PARTNER:<organisation>.
    await expect(
      protection.executeUpdate(reintegrationPlanUpdate, { args: [{ actor: overKafka(swd, 'Officer Ayesha, +92 300'), partner: 'IOM', tasks: [{ taskId: 'x-1', kind: 'MEDICAL', partner: 'IOM' }] }] }),
    ).rejects.toMatchObject({ cause: { type: 'InvalidAction', message: expect.stringMatching(/^actor\.assertedBy: /) } });

    const detail = {
      referral: await handle.query(referralStateQuery),
      justice: await justice.query(justiceStateQuery),
      protection: await protection.query(protectionStateQuery),
      temporalUiUrl: 'http://ui.invalid',
    };
    const entry = (timeline: AuditEntry[], action: string, n = 0) => timeline.filter((e) => e.action === action)[n];
    expect(entry(detail.referral.timeline, 'ACKNOWLEDGED')).toMatchObject({ actor: 'fia-io-4', agency: 'FIA', assertedBy: 'FIA' });
    expect(entry(detail.justice.timeline, 'REGISTERED')).toMatchObject({ actor: 'fia-io-4', agency: 'FIA', assertedBy: 'FIA' });
    expect(entry(detail.justice.timeline, 'DEADLINE_EXTENDED')).toMatchObject({ actor: 'fia-sup-2', agency: 'FIA', assertedBy: 'FIA' });
    expect(entry(detail.referral.timeline, 'REROUTED')).toMatchObject({ actor: 'ahtc-n-chair', agency: 'AHTC-N', assertedBy: 'AHTC-N' });
    expect(entry(detail.justice.timeline, 'REROUTED')).toMatchObject({ actor: 'ahtc-n-chair', agency: 'AHTC-N', assertedBy: 'AHTC-N' });
    expect(entry(detail.protection.timeline, 'PARTNER_TASK_COMPLETED', 0)).toMatchObject({ actor: 'iom-worker', agency: 'IOM', assertedBy: 'PARTNER:IOM' });
    // Through the API: no one but the engine vouched, and the entry says nothing of it.
    for (const e of [entry(detail.referral.timeline, 'SCREENED'), entry(detail.protection.timeline, 'REINTEGRATION_PLAN_AGREED'), entry(detail.protection.timeline, 'PARTNER_TASK_COMPLETED', 1)]) {
      expect(e).toBeDefined();
      expect(e).not.toHaveProperty('assertedBy');
    }

    const lines = renderReferral(detail).split('\n');
    const line = (action: string, n = 0) => lines.filter((l) => new RegExp(`\\b${action}\\b`).test(l))[n] ?? '';
    expect(line('ACKNOWLEDGED')).toContain('FIA/fia-io-4 (asserted by FIA)');
    expect(line('PARTNER_TASK_COMPLETED', 0)).toContain('IOM/iom-worker (asserted by PARTNER:IOM)');
    expect(line('SCREENED')).not.toContain('asserted by');
    expect(line('PARTNER_TASK_COMPLETED', 1)).not.toContain('asserted by');

    await handle.executeUpdate(withdrawReferralUpdate, { args: [{ actor: fiaSupervisor, reason: 'test done' }] });
    expect(await handle.result()).toMatchObject({ stage: 'CLOSED' });
  });
});
