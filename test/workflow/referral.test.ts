import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../workflows/actions.js';
import {
  acknowledgeUpdate,
  closeReferralUpdate,
  completeScreeningUpdate,
  extendDeadlineUpdate,
  reclassifyUpdate,
  referralStateQuery,
  withdrawReferralUpdate,
} from '../../workflows/messages.js';
import type { ReferralWorkflowInput } from '../../workflows/types.js';
import proto from '@temporalio/proto';
import { startReferral } from '../../bridge/intake.js';
import { LeadAgencyKey, NextDeadlineKey, StageKey } from '../../workflows/search-attributes.js';
import { detected, shippedPolicy, workflowInput } from '../support/fixtures.js';
import { startWorkflowHarness, waitFor, type WorkflowHarness } from '../support/workflow-harness.js';

const HOUR = 3_600_000;
const fiaOfficer: Actor = { actorId: 'fia-officer-1', agency: 'FIA', role: 'OFFICER' };
const fiaSupervisor: Actor = { actorId: 'fia-sup-1', agency: 'FIA', role: 'SUPERVISOR' };
const committee: Actor = { actorId: 'ahtc-d-chair', agency: 'AHTC-D', role: 'SUPERVISOR', jurisdiction: { province: 'PUNJAB', district: 'LAHORE' } };

describe('referral workflow: routing, acknowledgement, screening (time-skipping)', () => {
  let h: WorkflowHarness;
  beforeAll(async () => {
    h = await startWorkflowHarness('referral-parent');
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function start(input: ReferralWorkflowInput): Promise<WorkflowHandle> {
    return h.env.client.workflow.start('referralWorkflow', {
      workflowId: `referral-${input.referral.referralId}`,
      taskQueue: h.taskQueue,
      args: [input],
    });
  }
  const stage = async (handle: WorkflowHandle) => (await handle.query(referralStateQuery)).stage;
  const sent = (referralId: string) => h.publisher.records.filter((r) => r.key === referralId);

  it('routes a cross-border trafficking case, notifies lead, supporting, informed and the operators, never with personal data', async () => {
    const referral = detected();
    const handle = await start(workflowInput(referral));
    await waitFor(async () => (await stage(handle)) === 'SCREENING');
    const state = await handle.query(referralStateQuery);
    expect(state.routing).toMatchObject({ status: 'ROUTED', lead: 'FIA', ruleId: 'tip-cross-border' });
    const routed = sent(referral.referralId).filter((r) => r.headers['ce_type'] === 'referral.routed.v1');
    expect(routed.map((r) => r.topic).sort()).toEqual(['notify.fia', 'notify.moi', 'notify.swd']);
    expect(h.publisher.data(routed.find((r) => r.topic === 'notify.fia')!)).toMatchObject({ role: 'LEAD', lead: 'FIA', district: 'Lahore' });
    expect(sent(referral.referralId).some((r) => r.topic === 'events' && r.headers['ce_type'] === 'referral.stage.v1')).toBe(true);
    const everything = JSON.stringify(sent(referral.referralId));
    for (const value of ['Test Victim Zainab', '+92-300-1234567', 'injured hand']) expect(everything).not.toContain(value);
    expect(state.sla?.map((c) => c.step).sort()).toEqual(['acknowledge', 'screening']);
    await handle.executeUpdate(withdrawReferralUpdate, { args: [{ actor: fiaSupervisor, reason: 'test done' }] });
    expect(await handle.result()).toMatchObject({ stage: 'CLOSED', closedReason: 'test done' });
  });

  it('a minor gets the 4 h acknowledgement deadline, and the whole ladder fires in order with the right recipients', async () => {
    const referral = detected({ facts: { flags: { minor: true, victimAbroad: false, victimAtRisk: false, organisedNetwork: false, crossBorder: true } } });
    const handle = await start(workflowInput(referral));
    await waitFor(async () => (await stage(handle)) === 'SCREENING');
    const clock = (await handle.query(referralStateQuery)).sla!.find((c) => c.step === 'acknowledge')!;
    expect(Date.parse(clock.deadline) - Date.parse(clock.startedAt)).toBe(4 * HOUR);

    await h.env.sleep(12 * HOUR + 60_000);
    const ladder = sent(referral.referralId)
      .filter((r) => r.headers['ce_type'] === 'referral.sla.v1')
      .map((r) => h.publisher.data<{ step: string; rung: string; kind: string; recipient: string }>(r))
      .filter((d) => d.step === 'acknowledge');
    expect(ladder.map((d) => `${d.rung}:${d.kind}:${d.recipient}`)).toEqual([
      'reminder:REMINDER:FIA',
      'breach:BREACH:FIA',
      'district-committee:ESCALATION:AHTC-D',
      'provincial-committee:ESCALATION:AHTC-P',
      'national-committee:ESCALATION:AHTC-N',
      'national-committee:ESCALATION:MOI',
    ]);
    const state = await handle.query(referralStateQuery);
    expect(state.sla!.find((c) => c.step === 'acknowledge')).toMatchObject({ status: 'RUNNING', breached: true });
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get({ name: 'SlaBreached', type: 'BOOL' })).toBe(true);

    // The step kept waiting; the lead acknowledges late and the clock is met.
    await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: fiaOfficer }] });
    await waitFor(async () => (await handle.query(referralStateQuery)).sla!.find((c) => c.step === 'acknowledge')!.status === 'MET');
    await handle.executeUpdate(withdrawReferralUpdate, { args: [{ actor: fiaSupervisor, reason: 'test done' }] });
    await handle.result();
  });

  it('an extension by a supervisor moves the deadline, with the reason recorded; an officer may not extend', async () => {
    const referral = detected();
    const handle = await start(workflowInput(referral));
    await waitFor(async () => (await stage(handle)) === 'SCREENING');
    const before = (await handle.query(referralStateQuery)).sla!.find((c) => c.step === 'screening')!;
    await expect(
      handle.executeUpdate(extendDeadlineUpdate, { args: [{ actor: fiaOfficer, step: 'screening', by: { hours: 24 }, reason: 'victim in hospital' }] }),
    ).rejects.toMatchObject({ cause: { type: 'Forbidden', message: expect.stringMatching(/^actor\.role:/) } });
    const result = await handle.executeUpdate(extendDeadlineUpdate, {
      args: [{ actor: fiaSupervisor, step: 'screening', by: { hours: 24 }, reason: 'victim in hospital' }],
    });
    expect(Date.parse(result.deadline) - Date.parse(before.deadline)).toBe(24 * HOUR);
    // The old deadline (72 h) passes without a breach; the new one (96 h) breaches.
    await h.env.sleep(80 * HOUR);
    const screeningBreaches = () =>
      sent(referral.referralId)
        .filter((r) => r.headers['ce_type'] === 'referral.sla.v1')
        .map((r) => h.publisher.data<{ step: string; kind: string }>(r))
        .filter((d) => d.step === 'screening' && d.kind === 'BREACH');
    expect(screeningBreaches()).toHaveLength(0);
    await h.env.sleep(20 * HOUR);
    expect(screeningBreaches().length).toBeGreaterThan(0);
    const timeline = (await handle.query(referralStateQuery)).timeline;
    expect(timeline.find((e) => e.action === 'DEADLINE_EXTENDED')).toMatchObject({ actor: 'fia-sup-1', reason: 'victim in hospital' });
    await handle.executeUpdate(withdrawReferralUpdate, { args: [{ actor: fiaSupervisor, reason: 'test done' }] });
    await handle.result();
  });

  it('an unroutable case is escalated as UNROUTED until a committee classifies it, then routed', async () => {
    const referral = detected({ facts: { caseType: 'UNKNOWN' } });
    const handle = await start(workflowInput(referral));
    await waitFor(async () => (await stage(handle)) === 'UNROUTED');
    const unrouted = sent(referral.referralId).filter((r) => r.headers['ce_type'] === 'referral.unrouted.v1');
    // The referral's own district committee is told, on its own topic: no other district's.
    expect(unrouted.map((r) => r.topic)).toEqual(['notify.ahtc-d.punjab.lahore']);
    const gwadar: Actor = { ...committee, actorId: 'ahtc-d-gwadar', jurisdiction: { province: 'BALOCHISTAN', district: 'GWADAR' } };
    const bare: Actor = { actorId: 'ahtc-d-x', agency: 'AHTC-D', role: 'SUPERVISOR' };
    for (const outsider of [gwadar, bare]) {
      await expect(
        handle.executeUpdate(reclassifyUpdate, { args: [{ actor: outsider, caseType: 'SMUGGLING', reason: 'not ours to classify' }] }),
      ).rejects.toMatchObject({ cause: { type: 'NotAParty' } });
    }
    const parties = (await handle.describe()).searchAttributes['Parties'];
    expect(parties).toEqual(expect.arrayContaining(['AHTC-D:PUNJAB:LAHORE', 'AHTC-P:PUNJAB', 'AHTC-N']));
    expect(parties).not.toContain('AHTC-D');
    await expect(
      handle.executeUpdate(reclassifyUpdate, { args: [{ actor: committee, caseType: 'SMUGGLING', reason: '' }] }),
    ).rejects.toMatchObject({ cause: { type: 'InvalidAction', message: 'reason: required' } });
    await handle.executeUpdate(reclassifyUpdate, { args: [{ actor: committee, caseType: 'SMUGGLING', reason: 'payment for irregular entry' }] });
    await waitFor(async () => (await stage(handle)) === 'SCREENING');
    const state = await handle.query(referralStateQuery);
    expect(state.routing).toMatchObject({ status: 'ROUTED', lead: 'FIA', caseType: 'SMUGGLING' });
    expect(state.timeline.map((e) => e.action)).toEqual(['DETECTED', 'UNROUTED', 'REROUTED']);
    await handle.executeUpdate(withdrawReferralUpdate, { args: [{ actor: committee, reason: 'test done' }] });
    await handle.result();
  });

  it('a case screened as none of the three closes with its reason and starts no track', async () => {
    const referral = detected({ facts: { caseType: 'FRAUDULENT_JOB_AD' } });
    const handle = await start(workflowInput(referral));
    await waitFor(async () => (await stage(handle)) === 'SCREENING');
    const nccia: Actor = { actorId: 'nccia-7', agency: 'NCCIA', role: 'OFFICER' };
    await handle.executeUpdate(completeScreeningUpdate, {
      args: [{ actor: nccia, outcome: 'NOT_A_CASE', victimIdentified: false, victimAtRisk: false, consent: 'NOT_REQUIRED', reason: 'genuine licensed employer' }],
    });
    expect(await handle.result()).toMatchObject({ stage: 'CLOSED', closedReason: 'genuine licensed employer' });
    for (const track of ['justice', 'protection']) {
      await expect(h.env.client.workflow.getHandle(`referral-${referral.referralId}-${track}`).describe()).rejects.toThrow(/not found/i);
    }
  });

  it('writes search attributes at most once per workflow task, and neither the attributes nor the memo the start already set', async () => {
    const referral = detected();
    // Started as the intake bridge starts it: stage, case type, place and priority already set.
    await startReferral({ client: h.env.client, taskQueue: h.taskQueue, policy: shippedPolicy() }, referral, { eventId: `e-${referral.referralId}`, source: 'urn:test' });
    const handle = h.env.client.workflow.getHandle(`referral-${referral.referralId}`);
    await waitFor(async () => (await stage(handle)) === 'SCREENING');
    await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: fiaOfficer }] });
    const events = (await handle.fetchHistory()).events ?? [];
    const EventType = proto.temporal.api.enums.v1.EventType;
    // Upserts of the referral's own attributes per workflow task (they follow its COMPLETED event);
    // the SDK's own upserts of TemporalChangeVersion, beside each patch marker, are not ours.
    const perTask: number[] = [];
    for (const e of events) {
      if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) perTask.push(0);
      const fields = Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
      if (fields.some((f) => f !== 'TemporalChangeVersion')) perTask[perTask.length - 1]! += 1;
    }
    expect(perTask[0]).toBe(0); // the first task: nothing new to write
    expect(Math.max(...perTask)).toBe(1);
    expect(perTask.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2); // ROUTED, then SCREENING with its deadlines
    // The memo the start set holds what no attribute shows; nothing rewrites it until a track moves.
    expect(events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)).toHaveLength(0);
    expect((await handle.describe()).memo).toEqual({ summary: { policyVersion: shippedPolicy().version, tracks: {} } });
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect(attributes.get(StageKey)).toBe('SCREENING');
    expect(attributes.get(LeadAgencyKey)).toBe('FIA');
    expect(attributes.get(NextDeadlineKey)).toBeInstanceOf(Date);
    await handle.executeUpdate(withdrawReferralUpdate, { args: [{ actor: fiaSupervisor, reason: 'test done' }] });
    await handle.result();
    expect((await handle.describe()).typedSearchAttributes.get(StageKey)).toBe('CLOSED');
  });

  it('rejects invalid actions with a typed reason naming the field', async () => {
    const referral = detected();
    const handle = await start(workflowInput(referral));
    await waitFor(async () => (await stage(handle)) === 'SCREENING');
    const police: Actor = { actorId: 'p-1', agency: 'POLICE', role: 'OFFICER' };
    const pta: Actor = { actorId: 'pta-1', agency: 'PTA', role: 'SUPERVISOR' };
    await expect(handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: police }] })).rejects.toMatchObject({
      cause: { type: 'NotAParty', message: 'actor.agency: POLICE is not a party to this referral' },
    });
    await expect(handle.executeUpdate(withdrawReferralUpdate, { args: [{ actor: pta, reason: 'x' }] })).rejects.toMatchObject({
      cause: { type: 'NotAParty', message: 'actor.agency: PTA is not a party to this referral' },
    });
    await expect(
      handle.executeUpdate(completeScreeningUpdate, {
        args: [{ actor: fiaOfficer, outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: false, consent: 'NOT_REQUIRED' }],
      }),
    ).rejects.toMatchObject({ cause: { type: 'InvalidAction', message: expect.stringMatching(/^consent:/) } });
    await expect(
      handle.executeUpdate(extendDeadlineUpdate, { args: [{ actor: fiaSupervisor, step: 'verdict', by: { hours: 1 }, reason: 'r' }] }),
    ).rejects.toMatchObject({ cause: { type: 'InvalidTransition', message: expect.stringMatching(/^step:/) } });
    await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: fiaOfficer }] });
    await expect(handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: fiaOfficer }] })).rejects.toMatchObject({
      cause: { type: 'InvalidTransition' },
    });
    // Rejected updates leave no trace in the audit timeline.
    expect((await handle.query(referralStateQuery)).timeline.map((e) => e.action)).toEqual(['DETECTED', 'ROUTED', 'ACKNOWLEDGED']);
    // The first version's close still works for callers that send it.
    await handle.executeUpdate(closeReferralUpdate, { args: [{ actor: 'op-1', agency: 'FIA', reason: 'duplicate of another referral' }] });
    expect(await handle.result()).toMatchObject({ stage: 'CLOSED', closedReason: 'duplicate of another referral' });
  });
});
