import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priorityOf } from '../../domain/priority.js';
import { routeCase } from '../../domain/routing.js';
import type { Policy } from '../../schemas/policy.js';
import type { Actor, TrialUpdateAction } from '../../workflows/actions.js';
import { justiceWorkflow } from '../../workflows/justice.js';
import {
  chargeDecisionUpdate,
  followUpUpdate,
  investigationReportUpdate,
  justiceStateQuery,
  justiceWorkflowId,
  completeTaskUpdate,
  protectionStateQuery,
  protectionWorkflowId,
  registerCaseUpdate,
  reintegrationPlanUpdate,
  stopTrackSignal,
  trialUpdateUpdate,
} from '../../workflows/messages.js';
import { protectionWorkflow } from '../../workflows/protection.js';
import type { JusticeInput, JusticeState, ProtectionInput, ProtectionState, TrackContext } from '../../workflows/types.js';
import { detected, shippedPolicy } from '../support/fixtures.js';
import { startWorkflowHarness, waitFor, type WorkflowHarness } from '../support/workflow-harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MONTH = 30 * DAY;

const fia: Actor = { actorId: 'fia-io-1', agency: 'FIA', role: 'OFFICER' };
const prosecutor: Actor = { actorId: 'pp-1', agency: 'PROSECUTION', role: 'OFFICER' };
const swd: Actor = { actorId: 'swd-1', agency: 'SWD', role: 'OFFICER' };
const iom: Actor = { actorId: 'iom-caseworker', agency: 'PARTNER', role: 'PARTNER', organisation: 'IOM' };

/** An update id as the actions bridge derives it from a CloudEvent's source and id. */
const actionId = (source: string, eventId: string) => JSON.stringify([source, eventId]);
const fiaEvent = (eventId: string) => actionId('urn:agency:fia', eventId);
const ppEvent = (eventId: string) => actionId('urn:agency:prosecution', eventId);
const swdEvent = (eventId: string) => actionId('urn:agency:swd', eventId);

const charge = { actor: prosecutor, decision: 'CHARGED' as const };
const hearing = (i: number): TrialUpdateAction => ({ actor: prosecutor, note: `hearing ${i}` });

/**
 * Temporal answers a repeated update id with its first outcome only within one run. The tracks
 * carry the ids they applied across continue-as-new, within the policy's window: an action
 * redelivered after a rollover is answered successfully and applied once.
 */
describe('applied action ids carried across continue-as-new (time-skipping)', () => {
  let h: WorkflowHarness;
  beforeAll(async () => {
    h = await startWorkflowHarness('applied-actions');
  });
  afterAll(async () => {
    await h?.stop();
  });

  function context(policy: Policy): TrackContext {
    const referral = detected();
    const routing = routeCase(policy, referral.facts);
    if (routing.status !== 'ROUTED') throw new Error('fixture must route');
    const { flags, location } = referral.facts;
    return {
      referralId: referral.referralId,
      // No such workflow: the tracks carry on when their referral cannot be signalled.
      parentWorkflowId: `referral-${referral.referralId}-absent`,
      policy,
      urgent: flags.minor || flags.victimAtRisk,
      priority: priorityOf(flags),
      province: location.province,
      district: location.district,
      routing,
    };
  }

  async function startJustice(policy: Policy = shippedPolicy()): Promise<WorkflowHandle<typeof justiceWorkflow>> {
    const input: JusticeInput = context(policy);
    const handle = await h.env.client.workflow.start(justiceWorkflow, { workflowId: justiceWorkflowId(input.referralId), taskQueue: h.taskQueue, args: [input] });
    await waitFor(async () => (await handle.query(justiceStateQuery)).sla.some((c) => c.step === 'caseRegistration'));
    return handle;
  }

  /** Registered, reported, charged, then ten hearings: the tenth ends the run (TRIAL_UPDATES_PER_RUN). */
  async function throughFirstRun(handle: WorkflowHandle<typeof justiceWorkflow>): Promise<void> {
    const firstRunId = (await handle.describe()).runId;
    await handle.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED', caseNumber: 'FIR-7/2026' }], updateId: fiaEvent('register-1') });
    await handle.executeUpdate(investigationReportUpdate, { args: [{ actor: fia, kind: 'FINAL' }], updateId: fiaEvent('report-1') });
    await handle.executeUpdate(chargeDecisionUpdate, { args: [charge], updateId: ppEvent('charge-1') });
    for (let i = 1; i <= 10; i++) await handle.executeUpdate(trialUpdateUpdate, { args: [hearing(i)], updateId: ppEvent(`hearing-${i}`) });
    await waitFor(async () => (await handle.describe()).runId !== firstRunId, 20_000, 'continue-as-new');
    await waitFor(async () => (await handle.query(justiceStateQuery)).sla.some((c) => c.step === 'prosecutionStatus' && c.status === 'RUNNING'));
  }

  /** The window the current run was started with: its input, as continue-as-new passed it. */
  async function carriedIds(handle: WorkflowHandle): Promise<string[]> {
    const history = await h.env.client.workflow.getHandle(handle.workflowId, (await handle.describe()).runId).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const input = defaultPayloadConverter.fromPayload<JusticeInput | ProtectionInput>(payload!);
    return (input.carried?.appliedActions ?? []).map((a) => a.id);
  }

  const count = (s: JusticeState | ProtectionState, action: string) => s.timeline.filter((e) => e.action === action).length;
  /** Stage events on the operators' stream (every action makes exactly one there). */
  const operatorEvents = (referralId: string, action: string) =>
    h.publisher.records.filter((r) => r.key === referralId && r.topic === 'events' && h.publisher.data<{ action: string }>(r).action === action);

  it('justice: an action replayed after the rollover is answered successfully and applied once, even where its validator would now reject it; a new action still applies', async () => {
    const handle = await startJustice();
    const referralId = (await handle.query(justiceStateQuery)).referralId;
    await throughFirstRun(handle);
    const before = await handle.query(justiceStateQuery);
    expect(before).toMatchObject({ stage: 'TRIAL', statusUpdates: 10, chargeDecision: 'CHARGED', caseNumber: 'FIR-7/2026' });

    // The charge decision as a new action: the stage has moved on, so the validator rejects it…
    await expect(handle.executeUpdate(chargeDecisionUpdate, { args: [charge], updateId: ppEvent('charge-2') })).rejects.toMatchObject({
      cause: { type: 'InvalidTransition', message: expect.stringMatching(/^recordChargeDecision is not possible at stage TRIAL/) },
    });
    // …but redelivered, it is answered as its first delivery was.
    expect(await handle.executeUpdate(chargeDecisionUpdate, { args: [charge], updateId: ppEvent('charge-1') })).toMatchObject({ stage: 'TRIAL', statusUpdates: 10 });
    expect(await handle.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED', caseNumber: 'FIR-7/2026' }], updateId: fiaEvent('register-1') })).toMatchObject({ stage: 'TRIAL' });
    // A hearing the validator would accept again is not counted twice.
    expect((await handle.executeUpdate(trialUpdateUpdate, { args: [hearing(10)], updateId: ppEvent('hearing-10') })).statusUpdates).toBe(10);
    expect((await handle.query(justiceStateQuery)).timeline).toEqual(before.timeline);

    const next = await handle.executeUpdate(trialUpdateUpdate, { args: [hearing(11)], updateId: ppEvent('hearing-11') });
    expect(next.statusUpdates).toBe(11);
    expect([count(next, 'REGISTERED'), count(next, 'CHARGED'), count(next, 'TRIAL_UPDATE')]).toEqual([1, 1, 11]);
    // The replays published nothing: hearing 11's event is behind anything they would have queued.
    await waitFor(() => operatorEvents(referralId, 'TRIAL_UPDATE').length === 11);
    expect(operatorEvents(referralId, 'CHARGED')).toHaveLength(1);
    expect(operatorEvents(referralId, 'REGISTERED')).toHaveLength(1);

    await handle.signal(stopTrackSignal, { reason: 'test done' });
    expect((await handle.result()).stage).toBe('STOPPED');
  });

  it('justice: the carried window keeps only the policy maxIds most recent ids; a redelivery of one dropped is a new action again', async () => {
    const policy: Policy = { ...shippedPolicy(), actions: { dedupeWindow: { maxIds: 3, maxAgeDays: 30 } } };
    const handle = await startJustice(policy);
    await throughFirstRun(handle);
    expect(await carriedIds(handle)).toEqual([ppEvent('hearing-8'), ppEvent('hearing-9'), ppEvent('hearing-10')]);

    expect((await handle.executeUpdate(trialUpdateUpdate, { args: [hearing(10)], updateId: ppEvent('hearing-10') })).statusUpdates).toBe(10);
    // Beyond the window: validated as new (and rejected, the stage having moved on)…
    await expect(handle.executeUpdate(chargeDecisionUpdate, { args: [charge], updateId: ppEvent('charge-1') })).rejects.toMatchObject({
      cause: { type: 'InvalidTransition' },
    });
    // …or applied again when still valid: the bound is what a rollover forgets.
    expect((await handle.executeUpdate(trialUpdateUpdate, { args: [hearing(7)], updateId: ppEvent('hearing-7') })).statusUpdates).toBe(11);

    await handle.signal(stopTrackSignal, { reason: 'test done' });
    expect((await handle.result()).stage).toBe('STOPPED');
  });

  it('protection: a follow-up replayed after the rollover is answered successfully and recorded once; ids older than maxAgeDays are not carried', async () => {
    const input: ProtectionInput = { ...context(shippedPolicy()), victimAtRisk: false, identifiedAt: new Date(await h.env.currentTimeMs()).toISOString() };
    const handle = await h.env.client.workflow.start(protectionWorkflow, { workflowId: protectionWorkflowId(input.referralId), taskQueue: h.taskQueue, args: [input] });
    const state = () => handle.query(protectionStateQuery);
    await waitFor(async () => (await state()).stage === 'PLANNING');
    const plan = { actor: swd, partner: 'IOM', tasks: [{ taskId: 'med-1', kind: 'MEDICAL' as const, partner: 'IOM' }] };
    await handle.executeUpdate(reintegrationPlanUpdate, { args: [plan], updateId: swdEvent('plan-1') });
    await handle.executeUpdate(completeTaskUpdate, { args: [{ actor: iom, taskId: 'med-1', outcome: 'DONE' }], updateId: actionId('urn:partner:iom', 'task-1') });
    await waitFor(async () => (await state()).stage === 'FOLLOW_UP');
    const reintegratedMs = Date.parse((await state()).timeline.find((e) => e.action === 'REINTEGRATED')!.at);

    const followUp = async (month: number, eventId: string) => {
      await h.env.sleep(reintegratedMs + month * MONTH + HOUR - (await h.env.currentTimeMs()));
      await waitFor(async () => (await state()).sla.some((c) => c.step === `followUp:${month}` && c.status === 'RUNNING'));
      const runId = (await handle.describe()).runId;
      await handle.executeUpdate(followUpUpdate, { args: [{ actor: swd, month, status: 'STABLE' }], updateId: swdEvent(eventId) });
      await waitFor(async () => (await handle.describe()).runId !== runId, 20_000, 'continue-as-new');
    };

    await followUp(3, 'follow-up-3');
    // The plan and the task were applied 90 days before the rollover: past the 30 days of the shipped policy.
    expect(await carriedIds(handle)).toEqual([swdEvent('follow-up-3')]);
    const before = await state();

    const month3 = { actor: swd, month: 3, status: 'STABLE' as const };
    await expect(handle.executeUpdate(followUpUpdate, { args: [month3], updateId: swdEvent('follow-up-3b') })).rejects.toMatchObject({
      cause: { type: 'InvalidTransition', message: expect.stringMatching(/^month: the 3-month follow-up is already recorded/) },
    });
    expect(await handle.executeUpdate(followUpUpdate, { args: [month3], updateId: swdEvent('follow-up-3') })).toMatchObject({ stage: 'FOLLOW_UP', followUpsDone: [3] });
    expect((await state()).timeline).toEqual(before.timeline);
    await expect(handle.executeUpdate(reintegrationPlanUpdate, { args: [plan], updateId: swdEvent('plan-1') })).rejects.toMatchObject({
      cause: { type: 'InvalidTransition', message: expect.stringMatching(/^agreeReintegrationPlan is not possible at stage FOLLOW_UP/) },
    });

    await followUp(6, 'follow-up-6');
    const after = await state();
    expect(after.followUpsDone).toEqual([3, 6]);
    expect(count(after, 'FOLLOW_UP_RECORDED')).toBe(2);
    await waitFor(() => operatorEvents(input.referralId, 'FOLLOW_UP_RECORDED').length >= 2);
    expect(operatorEvents(input.referralId, 'FOLLOW_UP_RECORDED')).toHaveLength(2);
    expect(await carriedIds(handle)).toEqual([swdEvent('follow-up-6')]);

    await handle.signal(stopTrackSignal, { reason: 'test done' });
    expect((await handle.result()).stage).toBe('STOPPED');
  });
});
