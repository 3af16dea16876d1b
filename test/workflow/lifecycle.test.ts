import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../workflows/actions.js';
import {
  acknowledgeUpdate,
  chargeDecisionUpdate,
  completeScreeningUpdate,
  completeTaskUpdate,
  contentBlockUpdate,
  followUpUpdate,
  investigationReportUpdate,
  justiceStateQuery,
  justiceWorkflowId,
  licenceCheckUpdate,
  protectionPlacementUpdate,
  protectionStateQuery,
  protectionWorkflowId,
  reclassifyUpdate,
  referralStateQuery,
  registerCaseUpdate,
  reintegrationPlanUpdate,
  trialUpdateUpdate,
  verdictUpdate,
} from '../../workflows/messages.js';
import type { ReferralOutcome } from '../../workflows/types.js';
import { detected, workflowInput } from '../support/fixtures.js';
import { startWorkflowHarness, waitFor, type WorkflowHarness } from '../support/workflow-harness.js';

const DAY = 86_400_000;
const officer = (agency: string, role: Actor['role'] = 'OFFICER'): Actor => ({ actorId: `${agency.toLowerCase()}-1`, agency, role });
const partner = (organisation: string): Actor => ({ actorId: `${organisation.toLowerCase()}-worker`, agency: 'PARTNER', role: 'PARTNER', organisation });
const prosecutor = officer('PROSECUTION');

/** A referral's whole life across its three workflows, with time skipped: months run in seconds. */
describe('referral lifecycle across the referral, justice and protection workflows (time-skipping)', () => {
  let h: WorkflowHarness;
  beforeAll(async () => {
    h = await startWorkflowHarness('lifecycle');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const client = () => h.env.client;
  async function openReferral(facts: NonNullable<Parameters<typeof detected>[0]>['facts']) {
    const referral = detected({ facts });
    const handle = await client().workflow.start('referralWorkflow', {
      workflowId: `referral-${referral.referralId}`,
      taskQueue: h.taskQueue,
      args: [workflowInput(referral)],
    });
    await waitFor(async () => (await handle.query(referralStateQuery)).stage === 'SCREENING');
    return { referral, handle, justice: client().workflow.getHandle(justiceWorkflowId(referral.referralId)), protection: client().workflow.getHandle(protectionWorkflowId(referral.referralId)) };
  }
  const until = async (handle: WorkflowHandle, query: typeof justiceStateQuery | typeof protectionStateQuery, stage: string) =>
    waitFor(async () => {
      try {
        return (await handle.query(query as typeof justiceStateQuery)).stage === stage;
      } catch {
        return false;
      }
    }, 20_000, `stage ${stage}`);

  async function prosecute(justice: WorkflowHandle, lead: Actor) {
    await until(justice, justiceStateQuery, 'REGISTRATION');
    await justice.executeUpdate(registerCaseUpdate, { args: [{ actor: lead, decision: 'REGISTERED', caseNumber: 'FIR-1/2026' }] });
    await justice.executeUpdate(investigationReportUpdate, { args: [{ actor: lead, kind: 'FINAL' }] });
    await justice.executeUpdate(chargeDecisionUpdate, { args: [{ actor: prosecutor, decision: 'CHARGED' }] });
    await justice.executeUpdate(trialUpdateUpdate, { args: [{ actor: prosecutor, note: 'charge framed' }] });
    await justice.executeUpdate(verdictUpdate, { args: [{ actor: prosecutor, verdict: 'CONVICTED' }] });
  }

  async function reintegrate(protection: WorkflowHandle, atRisk: boolean) {
    const swd = officer('SWD');
    if (atRisk) {
      await until(protection, protectionStateQuery, 'IMMEDIATE_PROTECTION');
      await protection.executeUpdate(protectionPlacementUpdate, { args: [{ actor: swd, placement: 'SHELTER' }] });
    }
    await until(protection, protectionStateQuery, 'PLANNING');
    await protection.executeUpdate(reintegrationPlanUpdate, {
      args: [{ actor: swd, partner: 'IOM', tasks: [{ taskId: 'med-1', kind: 'MEDICAL', partner: 'IOM' }, { taskId: 'liv-1', kind: 'LIVELIHOOD', partner: 'SSDO' }] }],
    });
    await protection.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('IOM'), taskId: 'med-1', outcome: 'DONE', notes: 'treated' }] });
    await protection.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('SSDO'), taskId: 'liv-1', outcome: 'DONE' }] });
    for (const month of [3, 6, 12]) {
      await waitFor(async () => {
        await h.env.sleep(5 * DAY);
        try {
          return (await protection.query(protectionStateQuery)).stage === 'FOLLOW_UP' && (await protection.query(protectionStateQuery)).sla.some((c) => c.step.startsWith('followUp') && c.status === 'RUNNING');
        } catch {
          return false;
        }
      }, 30_000, `follow-up ${month} due`);
      await protection.executeUpdate(followUpUpdate, { args: [{ actor: swd, month, status: 'STABLE' }] });
    }
  }

  it('trafficking with a victim at risk: both tracks run in parallel and the referral closes when both have closed', async () => {
    const { handle, justice, protection } = await openReferral({ caseType: 'TRAFFICKING' });
    const fia = officer('FIA');
    await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: fia }] });
    await handle.executeUpdate(completeScreeningUpdate, {
      args: [{ actor: fia, outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: true, consent: 'GIVEN' }],
    });
    await prosecute(justice, fia);
    await reintegrate(protection, true);
    await h.env.sleep(31 * DAY); // the appeal window passes
    const outcome: ReferralOutcome = await handle.result();
    expect(outcome).toMatchObject({ stage: 'CLOSED', closedReason: 'both tracks closed' });
    expect((await justice.query(justiceStateQuery)).stage).toBe('CLOSED');
    expect((await protection.query(protectionStateQuery)).stage).toBe('CLOSED');
    const state = await handle.query(referralStateQuery);
    expect(state.timeline.map((e) => e.action)).toEqual(['DETECTED', 'ROUTED', 'ACKNOWLEDGED', 'SCREENED', 'CLOSED']);
    expect(state.tracks).toMatchObject({ justice: { closed: true }, protection: { closed: true } });
  });

  it('smuggling without an identified victim: no protection track; the justice track alone closes the referral', async () => {
    const { handle, justice, protection, referral } = await openReferral({ caseType: 'SMUGGLING' });
    const fia = officer('FIA');
    await handle.executeUpdate(completeScreeningUpdate, {
      args: [{ actor: fia, outcome: 'CONFIRMED', victimIdentified: false, victimAtRisk: false, consent: 'NOT_REQUIRED' }],
    });
    await prosecute(justice, fia);
    await h.env.sleep(31 * DAY);
    expect(await handle.result()).toMatchObject({ stage: 'CLOSED' });
    await expect(protection.describe()).rejects.toThrow(/not found/i);
    const actions = (await handle.query(referralStateQuery)).timeline.map((e) => e.action);
    expect(actions).toContain('NO_VICTIM');
    expect(h.publisher.records.some((r) => r.key === referral.referralId && r.topic === 'notify.swd')).toBe(false);
  });

  it('a fraudulent job advertisement runs the content block and licence check, and re-classification to trafficking re-routes the justice track to FIA without losing history', async () => {
    const { handle, justice } = await openReferral({
      caseType: 'FRAUDULENT_JOB_AD',
      flags: { minor: false, victimAbroad: false, victimAtRisk: false, organisedNetwork: false, crossBorder: true },
    });
    const nccia = officer('NCCIA');
    await handle.executeUpdate(completeScreeningUpdate, {
      args: [{ actor: nccia, outcome: 'CONFIRMED', victimIdentified: false, victimAtRisk: false, consent: 'NOT_REQUIRED' }],
    });
    await until(justice, justiceStateQuery, 'REGISTRATION');
    expect((await justice.query(justiceStateQuery)).sla.map((c) => c.step)).toEqual(expect.arrayContaining(['contentBlock', 'licenceCheck', 'caseRegistration']));
    await justice.executeUpdate(contentBlockUpdate, { args: [{ actor: officer('PTA'), result: 'BLOCKED' }] });
    await justice.executeUpdate(licenceCheckUpdate, { args: [{ actor: officer('BEOE'), result: 'UNLICENSED' }] });
    await justice.executeUpdate(registerCaseUpdate, { args: [{ actor: nccia, decision: 'REGISTERED' }] });

    // Investigation finds the advertisement recruited victims for forced labour abroad.
    await handle.executeUpdate(reclassifyUpdate, { args: [{ actor: officer('NCCIA', 'SUPERVISOR'), caseType: 'TRAFFICKING', reason: 'victims recruited for forced labour abroad' }] });
    await waitFor(async () => (await justice.query(justiceStateQuery)).lead === 'FIA');
    const js = await justice.query(justiceStateQuery);
    expect(js.stage).toBe('INVESTIGATION');
    expect(js.timeline.map((e) => e.action)).toEqual(expect.arrayContaining(['REGISTERED', 'REROUTED']));
    const parent = await handle.query(referralStateQuery);
    expect(parent.routing).toMatchObject({ status: 'ROUTED', lead: 'FIA', caseType: 'TRAFFICKING' });
    expect(parent.timeline.map((e) => e.action)).toContain('REROUTED');
    // The new lead reports; the old lead's report is refused.
    await expect(justice.executeUpdate(investigationReportUpdate, { args: [{ actor: nccia, kind: 'FINAL' }] })).rejects.toMatchObject({ cause: { type: expect.stringMatching(/Forbidden|NotAParty/) } });
    await justice.executeUpdate(investigationReportUpdate, { args: [{ actor: officer('FIA'), kind: 'FINAL' }] });
    await justice.executeUpdate(chargeDecisionUpdate, { args: [{ actor: prosecutor, decision: 'NOT_CHARGED', reason: 'accused absconded abroad' }] });
    expect(await handle.result()).toMatchObject({ stage: 'CLOSED' });
  });

  it('an adult victim who refuses consent is notified anonymously: protection runs, no justice track', async () => {
    const { handle, justice, protection } = await openReferral({ caseType: 'TRAFFICKING' });
    const fia = officer('FIA');
    await handle.executeUpdate(completeScreeningUpdate, {
      args: [{ actor: fia, outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: false, consent: 'REFUSED' }],
    });
    await until(protection, protectionStateQuery, 'PLANNING');
    await expect(justice.describe()).rejects.toThrow(/not found/i);
    expect((await handle.query(referralStateQuery)).timeline.map((e) => e.action)).toContain('NOTIFIED_ANONYMOUSLY');
    await reintegrate(protection, false);
    expect(await handle.result()).toMatchObject({ stage: 'CLOSED' });
  });
});
