import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadlineAt } from '../../domain/deadlines.js';
import { priorityOf } from '../../domain/priority.js';
import { routeCase } from '../../domain/routing.js';
import type { ReferralDetectedV1 } from '../../schemas/intake.js';
import type { RoutedDecision } from '../../schemas/routing.js';
import { createReferralWorker, workflowsPath } from '../../workers/temporal-worker.js';
import type { Actor } from '../../workflows/actions.js';
import { justiceWorkflow } from '../../workflows/justice.js';
import {
  appealUpdate,
  chargeDecisionUpdate,
  contentBlockUpdate,
  extendDeadlineUpdate,
  investigationReportUpdate,
  justiceStateQuery,
  leadChangedSignal,
  licenceCheckUpdate,
  registerCaseUpdate,
  stopTrackSignal,
  trialUpdateUpdate,
  verdictUpdate,
} from '../../workflows/messages.js';
import { LeadAgencyKey, SlaBreachedKey, StageKey } from '../../workflows/search-attributes.js';
import type { JusticeInput, JusticeState, SlaClockView } from '../../workflows/types.js';
import { detected, shippedPolicy } from '../support/fixtures.js';
import { RecordingPublisher } from '../support/recording-publisher.js';
import { createTimeSkippingEnv } from '../support/time-skipping.js';

const topics = { intake: 'i', actions: 'a', deadLetter: 'd', events: 'e', notifyPrefix: 'notify.' };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const fia: Actor = { actorId: 'fia-io-1', agency: 'FIA', role: 'OFFICER' };
const fiaSupervisor: Actor = { actorId: 'fia-sup-1', agency: 'FIA', role: 'SUPERVISOR' };
const nccia: Actor = { actorId: 'nccia-io-1', agency: 'NCCIA', role: 'OFFICER' };
const prosecutor: Actor = { actorId: 'pp-1', agency: 'PROSECUTION', role: 'OFFICER' };
const pta: Actor = { actorId: 'pta-1', agency: 'PTA', role: 'OFFICER' };
const beoe: Actor = { actorId: 'poe-1', agency: 'BEOE', role: 'OFFICER' };
const swd: Actor = { actorId: 'swd-1', agency: 'SWD', role: 'OFFICER' };

const fjaFacts = {
  caseType: 'FRAUDULENT_JOB_AD' as const,
  online: { platform: 'social-media', url: 'https://example.invalid/ad' },
};

function routed(referral: ReferralDetectedV1): RoutedDecision {
  const policy = shippedPolicy();
  const decision = routeCase(policy, referral.facts);
  if (decision.status !== 'ROUTED') throw new Error(`test referral not routed: ${decision.reason}`);
  return decision;
}

function justiceInput(referral: ReferralDetectedV1 = detected()): JusticeInput {
  const { flags, location } = referral.facts;
  return {
    referralId: referral.referralId,
    // No such workflow: the track's signals to its referral fail, and must not fail the track.
    parentWorkflowId: `referral-${referral.referralId}-absent`,
    policy: shippedPolicy(),
    urgent: flags.minor || flags.victimAtRisk,
    priority: priorityOf(flags),
    province: location.province,
    district: location.district,
    routing: routed(referral),
  };
}

describe('justice track (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const publisher = new RecordingPublisher();
  const taskQueue = 'justice';

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });
    worker = await createReferralWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      activityDeps: { publisher, topics, source: 'urn:test', committeeJurisdictionTopics: true },
      workflowBundle,
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  async function start(input: JusticeInput): Promise<WorkflowHandleWithFirstExecutionRunId<typeof justiceWorkflow>> {
    const handle = await env.client.workflow.start(justiceWorkflow, {
      workflowId: `referral-${input.referralId}-justice`,
      taskQueue,
      args: [input],
    });
    await waitFor(async () => clock(await state(handle), input.routing.caseType === 'FRAUDULENT_JOB_AD' ? 'licenceCheck' : 'caseRegistration') !== undefined);
    return handle;
  }
  const state = (handle: WorkflowHandle<typeof justiceWorkflow>): Promise<JusticeState> => handle.query(justiceStateQuery);
  const sent = (referralId: string) => publisher.records.filter((r) => r.key === referralId);
  const slaSent = (referralId: string) =>
    sent(referralId)
      .filter((r) => r.headers['ce_type'] === 'referral.sla.v1')
      .map((r) => ({ topic: r.topic, ...publisher.data<{ step: string; rung: string; kind: string; recipient: string; responsible: string; stage: string }>(r) }));
  const stageSent = (referralId: string) =>
    sent(referralId)
      .filter((r) => r.headers['ce_type'] === 'referral.stage.v1')
      .map((r) => ({ topic: r.topic, ...publisher.data<{ action: string; recipient: string; actionRequired?: string; dueBy?: string; stage: string }>(r) }));
  /**
   * Ends a test's track cleanly through its own stop signal. Terminating it instead was seen to make
   * a later env.sleep() hang (the worker's in-flight task completion is refused as "Completed
   * workflow" and the time-skipping server's clock appears to stay locked).
   */
  async function finish(handle: WorkflowHandle<typeof justiceWorkflow>): Promise<void> {
    await handle.signal(stopTrackSignal, { reason: 'test done' });
    expect((await handle.result()).stage).toBe('STOPPED');
  }
  async function sleepUntil(targetMs: number): Promise<void> {
    const now = await env.currentTimeMs();
    if (targetMs > now) await env.sleep(targetMs - now);
  }

  it('takes a trafficking case from registration to CLOSED when the appeal window passes, with the timeline in order', async () => {
    const referral = detected();
    const input = justiceInput(referral);
    const handle = await start(input);
    const id = referral.referralId;

    let s = await handle.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED', caseNumber: 'FIR-12/2026', reason: 'FIR lodged' }] });
    expect(s).toMatchObject({ stage: 'INVESTIGATION', caseNumber: 'FIR-12/2026', lead: 'FIA' });
    s = await handle.executeUpdate(investigationReportUpdate, { args: [{ actor: fia, kind: 'FINAL' }] });
    expect(s.stage).toBe('CHARGE_DECISION');
    s = await handle.executeUpdate(chargeDecisionUpdate, { args: [{ actor: prosecutor, decision: 'CHARGED' }] });
    expect(s.stage).toBe('TRIAL');
    await handle.executeUpdate(trialUpdateUpdate, { args: [{ actor: prosecutor, note: 'charge framed' }] });
    s = await handle.executeUpdate(trialUpdateUpdate, { args: [{ actor: prosecutor, note: 'prosecution evidence' }] });
    expect(s.statusUpdates).toBe(2);
    s = await handle.executeUpdate(verdictUpdate, { args: [{ actor: prosecutor, verdict: 'CONVICTED' }] });
    expect(s.stage).toBe('VERDICT');

    // Awaiting the result lets the server skip the 30-day appeal window.
    expect(await handle.result()).toEqual({ stage: 'CLOSED', verdict: 'CONVICTED', chargeDecision: 'CHARGED' });
    const final = await state(handle);
    expect(final.timeline.map((e) => e.action)).toEqual([
      'OPENED',
      'REGISTERED',
      'FINAL_REPORT',
      'CHARGED',
      'TRIAL_UPDATE',
      'TRIAL_UPDATE',
      'VERDICT',
      'CLOSED',
    ]);
    expect(final.timeline[1]).toMatchObject({ actor: 'fia-io-1', agency: 'FIA', reason: 'FIR lodged', track: 'justice', details: { caseNumber: 'FIR-12/2026' } });
    expect(final.timeline[3]).toMatchObject({ actor: 'pp-1', agency: 'PROSECUTION', track: 'justice' });
    const times = final.timeline.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const verdictAt = Date.parse(final.timeline[6]!.at);
    expect(Date.parse(final.timeline[7]!.at) - verdictAt).toBeGreaterThanOrEqual(30 * DAY);
    expect(final.sla.map((c) => [c.step, c.status])).toEqual([
      ['caseRegistration', 'MET'],
      ['investigationReport', 'MET'],
      ['chargeDecision', 'MET'],
      ['prosecutionStatus', 'MET'],
    ]);

    // Whoever must act next is told what and by when; the operators get every step.
    await waitFor(async () => stageSent(id).some((e) => e.action === 'CLOSED' && e.topic === 'e'));
    const events = stageSent(id);
    const toProsecution = events.find((e) => e.action === 'FINAL_REPORT' && e.topic === 'notify.prosecution')!;
    expect(toProsecution).toMatchObject({ actionRequired: 'decide on charges', stage: 'CHARGE_DECISION' });
    expect(Date.parse(toProsecution.dueBy!) - Date.parse(final.timeline[2]!.at)).toBe(30 * DAY);
    expect(events.find((e) => e.action === 'OPENED' && e.topic === 'notify.fia')).toMatchObject({ actionRequired: expect.stringMatching(/register the case/) });
    expect(events.filter((e) => e.topic === 'e').map((e) => e.action)).toEqual(final.timeline.map((e) => e.action));
    expect(events.find((e) => e.action === 'VERDICT' && e.topic === 'notify.prosecution')?.dueBy).toBe(new Date(verdictAt + 30 * DAY).toISOString());

    const attributes = (await handle.describe()).typedSearchAttributes;
    expect(attributes.get(StageKey)).toBe('JUSTICE:CLOSED');
    expect(attributes.get(LeadAgencyKey)).toBe('FIA');
  });

  it('closes CLOSED_NO_CASE when the lead finds no case, and CLOSED_NOT_CHARGED when the prosecution does not charge', async () => {
    const a = await start(justiceInput());
    await expect(a.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'NO_CASE' }] })).rejects.toMatchObject({
      cause: { type: 'InvalidAction', message: expect.stringMatching(/^reason:/) },
    });
    await a.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'NO_CASE', reason: 'consensual labour migration, no exploitation' }] });
    expect(await a.result()).toEqual({ stage: 'CLOSED_NO_CASE' });
    const sa = await state(a);
    expect(sa.timeline.map((e) => e.action)).toEqual(['OPENED', 'NO_CASE']);
    expect(sa.sla).toMatchObject([{ step: 'caseRegistration', status: 'MET' }]);

    const b = await start(justiceInput());
    await b.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED' }] });
    await b.executeUpdate(investigationReportUpdate, { args: [{ actor: fia, kind: 'FINAL' }] });
    await b.executeUpdate(chargeDecisionUpdate, { args: [{ actor: prosecutor, decision: 'NOT_CHARGED', reason: 'insufficient evidence' }] });
    expect(await b.result()).toEqual({ stage: 'CLOSED_NOT_CHARGED', chargeDecision: 'NOT_CHARGED' });
    const sb = await state(b);
    expect(sb.timeline.map((e) => e.action)).toEqual(['OPENED', 'REGISTERED', 'FINAL_REPORT', 'NOT_CHARGED']);
    expect(sb.timeline.at(-1)).toMatchObject({ reason: 'insufficient evidence', agency: 'PROSECUTION' });
  });

  it('fires the whole escalation ladder on a late registration, in order and to the right recipients, while the stage keeps waiting', async () => {
    const referral = detected();
    const handle = await start(justiceInput(referral));
    const id = referral.referralId;
    const t0 = Date.parse(clock(await state(handle), 'caseRegistration')!.startedAt);
    const allowed = 7 * DAY;

    const expected = [
      { at: 0.75, rungs: [{ topic: 'notify.fia', rung: 'reminder', kind: 'REMINDER', recipient: 'FIA' }] },
      { at: 1, rungs: [{ topic: 'notify.fia', rung: 'breach', kind: 'BREACH', recipient: 'FIA' }] },
      { at: 1.5, rungs: [{ topic: 'notify.ahtc-d.punjab.lahore', rung: 'district-committee', kind: 'ESCALATION', recipient: 'AHTC-D' }] },
      { at: 2, rungs: [{ topic: 'notify.ahtc-p.punjab', rung: 'provincial-committee', kind: 'ESCALATION', recipient: 'AHTC-P' }] },
      {
        at: 3,
        rungs: [
          { topic: 'notify.ahtc-n', rung: 'national-committee', kind: 'ESCALATION', recipient: 'AHTC-N' },
          { topic: 'notify.moi', rung: 'national-committee', kind: 'ESCALATION', recipient: 'MOI' },
        ],
      },
    ];
    const seen: unknown[] = [];
    for (const { at, rungs } of expected) {
      // Just before the rung: nothing new yet.
      await sleepUntil(t0 + at * allowed - 10 * MINUTE);
      expect(slaSent(id)).toHaveLength(seen.length);
      await sleepUntil(t0 + at * allowed + MINUTE);
      seen.push(...rungs);
      await waitFor(async () => slaSent(id).length >= seen.length);
      expect(slaSent(id).map(({ topic, rung, kind, recipient }) => ({ topic, rung, kind, recipient }))).toEqual(seen);
      expect((await state(handle)).stage).toBe('REGISTRATION');
    }
    for (const n of slaSent(id)) expect(n).toMatchObject({ step: 'caseRegistration', responsible: 'FIA', stage: 'JUSTICE:REGISTRATION' });

    const waiting = await state(handle);
    expect(clock(waiting, 'caseRegistration')).toMatchObject({
      status: 'RUNNING',
      breached: true,
      firedRungs: ['reminder', 'breach', 'district-committee', 'provincial-committee', 'national-committee'],
    });
    expect(waiting.timeline.map((e) => e.action)).toEqual(['OPENED', 'SLA_REMINDER', 'SLA_BREACH', 'SLA_ESCALATION', 'SLA_ESCALATION', 'SLA_ESCALATION']);
    expect(waiting.timeline.at(-1)).toMatchObject({ actor: 'sla', track: 'justice', details: { rung: 'national-committee', recipients: 'AHTC-N,MOI' } });
    await waitFor(async () => (await handle.describe()).typedSearchAttributes.get(SlaBreachedKey) === true);

    // Late, but met: the clock stops and the stage moves on.
    const s = await handle.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED' }] });
    expect(s.stage).toBe('INVESTIGATION');
    await waitFor(async () => clock(await state(handle), 'caseRegistration')?.status === 'MET');
    expect(clock(await state(handle), 'investigationReport')).toMatchObject({ status: 'RUNNING', responsible: 'FIA', breached: false });
    await finish(handle);
  });

  it('moves the deadline on an extension: the reminder skips its old time and fires at the new one', async () => {
    const referral = detected();
    const handle = await start(justiceInput(referral));
    const id = referral.referralId;
    const t0 = Date.parse(clock(await state(handle), 'caseRegistration')!.startedAt);

    await sleepUntil(t0 + DAY);
    const moved = await handle.executeUpdate(extendDeadlineUpdate, {
      args: [{ actor: fiaSupervisor, step: 'caseRegistration', by: { days: 2 }, reason: 'FIR pending magistrate order' }],
    });
    expect(moved).toEqual({ step: 'caseRegistration', deadline: new Date(t0 + 9 * DAY).toISOString() });

    // Old reminder time: 75% of 7 days. Nothing fires.
    await sleepUntil(t0 + 0.75 * 7 * DAY + HOUR);
    expect(slaSent(id)).toHaveLength(0);
    // New reminder time: 75% of 9 days.
    await sleepUntil(t0 + 0.75 * 9 * DAY + MINUTE);
    await waitFor(async () => slaSent(id).length === 1);
    expect(slaSent(id)[0]).toMatchObject({ topic: 'notify.fia', rung: 'reminder', kind: 'REMINDER', step: 'caseRegistration' });

    const s = await state(handle);
    expect(clock(s, 'caseRegistration')).toMatchObject({ deadline: new Date(t0 + 9 * DAY).toISOString(), extensions: 1, firedRungs: ['reminder'] });
    expect(s.timeline.map((e) => e.action)).toEqual(['OPENED', 'DEADLINE_EXTENDED', 'SLA_REMINDER']);
    expect(s.timeline[1]).toMatchObject({
      actor: 'fia-sup-1',
      agency: 'FIA',
      reason: 'FIR pending magistrate order',
      track: 'justice',
      details: { step: 'caseRegistration', newDeadline: new Date(t0 + 9 * DAY).toISOString() },
    });
    await waitFor(async () => stageSent(id).some((e) => e.action === 'DEADLINE_EXTENDED' && e.topic === 'notify.fia'));
    await finish(handle);
  });

  it('starts a 3-day interim-report clock when the 14-day investigation deadline passes (CrPC s.173), met by an INTERIM report', async () => {
    const referral = detected();
    const handle = await start(justiceInput(referral));
    await handle.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED', caseNumber: 'FIR-7/2026' }] });
    await waitFor(async () => clock(await state(handle), 'investigationReport') !== undefined);
    const registeredAt = Date.parse(clock(await state(handle), 'investigationReport')!.startedAt);
    expect(clock(await state(handle), 'investigationReport')!.deadline).toBe(new Date(registeredAt + 14 * DAY).toISOString());

    await sleepUntil(registeredAt + 14 * DAY - HOUR);
    expect(clock(await state(handle), 'interimReport')).toBeUndefined();
    await sleepUntil(registeredAt + 14 * DAY + MINUTE);
    await waitFor(async () => clock(await state(handle), 'interimReport') !== undefined);
    const interim = clock(await state(handle), 'interimReport')!;
    expect(interim).toMatchObject({ status: 'RUNNING', responsible: 'FIA' });
    expect(Date.parse(interim.startedAt) - (registeredAt + 14 * DAY)).toBeGreaterThanOrEqual(0);
    expect(Date.parse(interim.startedAt) - (registeredAt + 14 * DAY)).toBeLessThan(MINUTE);
    expect(Date.parse(interim.deadline) - Date.parse(interim.startedAt)).toBe(3 * DAY);
    expect(clock(await state(handle), 'investigationReport')).toMatchObject({ status: 'RUNNING', breached: true });

    let s = await handle.executeUpdate(investigationReportUpdate, { args: [{ actor: fia, kind: 'INTERIM', reason: 'forensics awaited' }] });
    expect(s.stage).toBe('INVESTIGATION');
    await waitFor(async () => clock(await state(handle), 'interimReport')?.status === 'MET');
    expect(clock(await state(handle), 'investigationReport')?.status).toBe('RUNNING');

    s = await handle.executeUpdate(investigationReportUpdate, { args: [{ actor: fia, kind: 'FINAL' }] });
    expect(s.stage).toBe('CHARGE_DECISION');
    await waitFor(async () => clock(await state(handle), 'investigationReport')?.status === 'MET');
    const final = await state(handle);
    expect(final.timeline.map((e) => e.action)).toEqual(['OPENED', 'REGISTERED', 'SLA_REMINDER', 'SLA_BREACH', 'INTERIM_REPORT', 'FINAL_REPORT']);
    expect(clock(final, 'chargeDecision')).toMatchObject({ status: 'RUNNING', responsible: 'PROSECUTION' });
    await waitFor(async () => stageSent(referral.referralId).some((e) => e.action === 'INTERIM_REPORT' && e.topic === 'notify.prosecution'));
    await finish(handle);
  });

  it('runs the FJA content-block and licence-check steps beside registration, the licence check in working days', async () => {
    const policy = shippedPolicy();
    // A Friday, 10:00 in Karachi (05:00 UTC): five working days from it span a weekend.
    const now = await env.currentTimeMs();
    const friday = new Date(now + DAY);
    friday.setUTCHours(5, 0, 0, 0);
    while (friday.getUTCDay() !== 5) friday.setUTCDate(friday.getUTCDate() + 1);
    await sleepUntil(friday.getTime());

    const referral = detected({ sourceAgency: 'NCCIA', facts: fjaFacts });
    const input = justiceInput(referral);
    expect(input.routing).toMatchObject({ lead: 'NCCIA', supporting: ['BEOE', 'PKCERT', 'PTA'] });
    const handle = await start(input);
    const s0 = await state(handle);
    const block = clock(s0, 'contentBlock')!;
    const licence = clock(s0, 'licenceCheck')!;
    const startedAt = Date.parse(licence.startedAt);
    expect(Math.abs(startedAt - friday.getTime())).toBeLessThan(5 * MINUTE);
    expect(block).toMatchObject({ status: 'RUNNING', responsible: 'PTA' });
    expect(Date.parse(block.deadline) - Date.parse(block.startedAt)).toBe(48 * HOUR);
    expect(licence).toMatchObject({ status: 'RUNNING', responsible: 'BEOE' });
    expect(licence.deadline).toBe(new Date(deadlineAt(startedAt, policy.sla['licenceCheck']!, { urgent: false, calendar: policy.calendar })).toISOString());
    expect(Date.parse(licence.deadline) - startedAt).toBeGreaterThanOrEqual(7 * DAY);
    expect(clock(s0, 'caseRegistration')).toMatchObject({ status: 'RUNNING', responsible: 'NCCIA' });
    await waitFor(async () => stageSent(referral.referralId).filter((e) => e.action === 'OPENED').length === 4);
    expect(stageSent(referral.referralId).find((e) => e.action === 'OPENED' && e.topic === 'notify.beoe')).toMatchObject({ dueBy: licence.deadline });

    // The content block is late: PTA is reminded at 75% of 48 h.
    await sleepUntil(Date.parse(block.startedAt) + 36 * HOUR + MINUTE);
    await waitFor(async () => slaSent(referral.referralId).length === 1);
    expect(slaSent(referral.referralId)[0]).toMatchObject({ topic: 'notify.pta', step: 'contentBlock', rung: 'reminder', recipient: 'PTA' });

    let s = await handle.executeUpdate(contentBlockUpdate, { args: [{ actor: pta, result: 'BLOCKED' }] });
    expect(s.contentBlock).toBe('BLOCKED');
    await waitFor(async () => clock(await state(handle), 'contentBlock')?.status === 'MET');
    await expect(handle.executeUpdate(contentBlockUpdate, { args: [{ actor: pta, result: 'BLOCKED' }] })).rejects.toMatchObject({
      cause: { type: 'InvalidTransition', message: expect.stringMatching(/contentBlock step is not waiting/) },
    });
    await expect(handle.executeUpdate(licenceCheckUpdate, { args: [{ actor: pta, result: 'LICENSED' }] })).rejects.toMatchObject({
      cause: { type: 'Forbidden', message: expect.stringMatching(/^actor\.agency: licence-check is for BEOE OFFICER\/SUPERVISOR .*not PTA/) },
    });
    s = await handle.executeUpdate(licenceCheckUpdate, { args: [{ actor: beoe, result: 'UNLICENSED', reason: 'no promoter licence on record' }] });
    expect(s.licenceCheck).toBe('UNLICENSED');
    await waitFor(async () => clock(await state(handle), 'licenceCheck')?.status === 'MET');
    s = await handle.executeUpdate(registerCaseUpdate, { args: [{ actor: nccia, decision: 'REGISTERED' }] });
    expect(s.stage).toBe('INVESTIGATION');
    expect(s.timeline.map((e) => e.action)).toEqual(['OPENED', 'SLA_REMINDER', 'CONTENT_BLOCK', 'LICENCE_CHECK', 'REGISTERED']);
    await finish(handle);

    // A case closed early does not wait for its FJA steps: their clocks are cancelled.
    const early = await start(justiceInput(detected({ sourceAgency: 'NCCIA', facts: fjaFacts })));
    await early.executeUpdate(registerCaseUpdate, { args: [{ actor: nccia, decision: 'NO_CASE', reason: 'genuine licensed recruiter' }] });
    expect(await early.result()).toEqual({ stage: 'CLOSED_NO_CASE' });
    const closed = await state(early);
    expect(clock(closed, 'contentBlock')?.status).toBe('CANCELLED');
    expect(clock(closed, 'licenceCheck')?.status).toBe('CANCELLED');
  });

  it('follows a re-classification: new lead, history kept, the old lead rejected unless it is still a party', async () => {
    const referral = detected();
    const handle = await start(justiceInput(referral));
    await handle.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED', caseNumber: 'FIR-3/2026' }] });
    await waitFor(async () => clock(await state(handle), 'investigationReport') !== undefined);
    const registeredAt = Date.parse(clock(await state(handle), 'investigationReport')!.startedAt);

    // Re-classified as a fraudulent job ad: NCCIA leads; FIA stays on as a supporting agency.
    const fjaRoute = routed(detected({ facts: fjaFacts }));
    const routing = { ...fjaRoute, supporting: [...fjaRoute.supporting, 'FIA'].sort() } as RoutedDecision;
    await handle.signal(leadChangedSignal, { routing, actor: 'ahtc-d-chair', agency: 'AHTC-D', reason: 'screening found an online job-ad scam' });
    await waitFor(async () => (await state(handle)).lead === 'NCCIA');

    const s = await state(handle);
    expect(s).toMatchObject({ stage: 'INVESTIGATION', lead: 'NCCIA', caseType: 'FRAUDULENT_JOB_AD', caseNumber: 'FIR-3/2026' });
    expect(s.timeline.map((e) => e.action)).toEqual(['OPENED', 'REGISTERED', 'REROUTED']);
    expect(s.timeline[2]).toMatchObject({
      actor: 'ahtc-d-chair',
      agency: 'AHTC-D',
      reason: 'screening found an online job-ad scam',
      details: { fromLead: 'FIA', toLead: 'NCCIA' },
    });
    expect(clock(s, 'investigationReport')).toMatchObject({ status: 'RUNNING', responsible: 'NCCIA' });
    // The FJA steps are not started by a re-classification.
    expect(clock(s, 'contentBlock')).toBeUndefined();
    await waitFor(async () => (await handle.describe()).typedSearchAttributes.get(LeadAgencyKey) === 'NCCIA');

    // The clock's ladder now reaches the new lead.
    await sleepUntil(registeredAt + 0.75 * 14 * DAY + MINUTE);
    await waitFor(async () => slaSent(referral.referralId).length === 1);
    expect(slaSent(referral.referralId)[0]).toMatchObject({ topic: 'notify.nccia', step: 'investigationReport', responsible: 'NCCIA', recipient: 'NCCIA' });

    await expect(handle.executeUpdate(investigationReportUpdate, { args: [{ actor: fia, kind: 'FINAL' }] })).rejects.toMatchObject({
      cause: { type: 'Forbidden', message: expect.stringMatching(/^actor\.agency: investigation-report is for lead \(NCCIA\) .*not FIA/) },
    });
    await expect(handle.executeUpdate(investigationReportUpdate, { args: [{ actor: swd, kind: 'FINAL' }] })).rejects.toMatchObject({
      cause: { type: 'NotAParty', message: expect.stringMatching(/SWD is not a party/) },
    });
    const after = await handle.executeUpdate(investigationReportUpdate, { args: [{ actor: nccia, kind: 'FINAL' }] });
    expect(after.stage).toBe('CHARGE_DECISION');
    expect(after.timeline.map((e) => e.action)).toEqual(['OPENED', 'REGISTERED', 'REROUTED', 'SLA_REMINDER', 'FINAL_REPORT']);
    expect(after.timeline.at(-1)).toMatchObject({ agency: 'NCCIA' });

    // A route without the old lead: FIA is no party at all now.
    await handle.signal(leadChangedSignal, { routing: fjaRoute, actor: 'ahtc-d-chair', agency: 'AHTC-D', reason: 'FIA withdrawn' });
    await waitFor(async () => (await state(handle)).timeline.filter((e) => e.action === 'REROUTED').length === 2);
    await expect(handle.executeUpdate(extendDeadlineUpdate, { args: [{ actor: fiaSupervisor, step: 'chargeDecision', by: { days: 1 }, reason: 'x' }] })).rejects.toMatchObject({
      cause: { type: 'NotAParty', message: expect.stringMatching(/FIA is not a party/) },
    });
    await finish(handle);
  });

  it('rejects invalid actions with their reason and type, and writes nothing for them', async () => {
    const handle = await start(justiceInput());
    const rejects = (p: Promise<unknown>, type: string, message: RegExp) => expect(p).rejects.toMatchObject({ cause: { type, message: expect.stringMatching(message) } });

    await rejects(handle.executeUpdate(registerCaseUpdate, { args: [{ actor: pta, decision: 'REGISTERED' }] }), 'NotAParty', /^actor\.agency: PTA is not a party/);
    await rejects(handle.executeUpdate(registerCaseUpdate, { args: [{ actor: swd, decision: 'REGISTERED' }] }), 'Forbidden', /^actor\.agency: register-case is for lead \(FIA\) .*not SWD/);
    await rejects(
      handle.executeUpdate(registerCaseUpdate, { args: [{ actor: { ...fia, badge: '42' } as Actor, decision: 'REGISTERED' }] }),
      'InvalidAction',
      /^actor\.badge: unknown field/,
    );
    await rejects(handle.executeUpdate(registerCaseUpdate, { args: [{ actor: { agency: 'FIA', role: 'OFFICER' } as Actor, decision: 'REGISTERED' }] }), 'InvalidAction', /^actor\.actorId: required/);
    await rejects(handle.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'MAYBE' as 'NO_CASE' }] }), 'InvalidAction', /^decision: must be one of/);
    await rejects(
      handle.executeUpdate(extendDeadlineUpdate, { args: [{ actor: fiaSupervisor, step: 'caseRegistration', by: { days: 1 } } as never] }),
      'InvalidAction',
      /^reason: required/,
    );
    await rejects(
      handle.executeUpdate(extendDeadlineUpdate, { args: [{ actor: fia, step: 'caseRegistration', by: { days: 1 }, reason: 'r' }] }),
      'Forbidden',
      /^actor\.role: extend-deadline needs the role SUPERVISOR/,
    );
    await rejects(
      handle.executeUpdate(extendDeadlineUpdate, { args: [{ actor: fiaSupervisor, step: 'chargeDecision', by: { days: 1 }, reason: 'r' }] }),
      'InvalidTransition',
      /^step: "chargeDecision" has no running clock/,
    );
    await rejects(handle.executeUpdate(contentBlockUpdate, { args: [{ actor: pta, result: 'BLOCKED' }] }), 'NotAParty', /PTA is not a party/);

    await handle.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED' }] });
    await handle.executeUpdate(investigationReportUpdate, { args: [{ actor: fia, kind: 'FINAL' }] });
    await rejects(
      handle.executeUpdate(verdictUpdate, { args: [{ actor: prosecutor, verdict: 'CONVICTED' }] }),
      'InvalidTransition',
      /^recordVerdict is not possible at stage CHARGE_DECISION \(expected TRIAL\)/,
    );
    await rejects(handle.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED' }] }), 'InvalidTransition', /at stage CHARGE_DECISION/);
    await rejects(handle.executeUpdate(chargeDecisionUpdate, { args: [{ actor: fia, decision: 'CHARGED' }] }), 'Forbidden', /^actor\.agency: [a-z-]+ is for PROSECUTION OFFICER\/SUPERVISOR .*not FIA/);
    await rejects(handle.executeUpdate(appealUpdate, { args: [{ actor: prosecutor, by: 'PROSECUTION' }] }), 'InvalidTransition', /fileAppeal is not possible at stage CHARGE_DECISION/);

    expect((await state(handle)).timeline.map((e) => e.action)).toEqual(['OPENED', 'REGISTERED', 'FINAL_REPORT']);
    await finish(handle);

    // On an FJA case PTA is a party, but registration is the lead's.
    const fja = await start(justiceInput(detected({ sourceAgency: 'NCCIA', facts: fjaFacts })));
    await rejects(fja.executeUpdate(registerCaseUpdate, { args: [{ actor: pta, decision: 'REGISTERED' }] }), 'Forbidden', /^actor\.agency: register-case is for lead \(NCCIA\) .*not PTA/);
    await finish(fja);
  });

  it('continues a long trial as new after 10 updates, keeping its state, then appeals and closes', async () => {
    const referral = detected();
    const handle = await start(justiceInput(referral));
    await handle.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED', caseNumber: 'FIR-99/2026' }] });
    await handle.executeUpdate(investigationReportUpdate, { args: [{ actor: fia, kind: 'FINAL' }] });
    await handle.executeUpdate(chargeDecisionUpdate, { args: [{ actor: prosecutor, decision: 'CHARGED' }] });
    const firstRun = handle.firstExecutionRunId;
    for (let i = 1; i <= 10; i++) {
      await waitFor(async () => clock(await state(handle), 'prosecutionStatus')?.status === 'RUNNING');
      // A month between hearings: each update meets the running cycle before it breaches.
      await env.sleep(20 * DAY);
      await handle.executeUpdate(trialUpdateUpdate, { args: [{ actor: prosecutor, note: `hearing ${i}` }] });
    }
    await waitFor(async () => (await handle.describe()).runId !== firstRun);

    await waitFor(async () => clock(await state(handle), 'prosecutionStatus')?.status === 'RUNNING');
    let s = await handle.executeUpdate(trialUpdateUpdate, { args: [{ actor: prosecutor, note: 'hearing 11' }] });
    expect(s).toMatchObject({ stage: 'TRIAL', statusUpdates: 11, caseNumber: 'FIR-99/2026', chargeDecision: 'CHARGED', lead: 'FIA' });
    expect(s.timeline.map((e) => e.action)).toEqual(['OPENED', 'REGISTERED', 'FINAL_REPORT', 'CHARGED', ...Array(11).fill('TRIAL_UPDATE')]);
    // The new run's clocks only: the trial's status clock.
    expect(s.sla.every((c) => c.step === 'prosecutionStatus')).toBe(true);

    s = await handle.executeUpdate(verdictUpdate, { args: [{ actor: prosecutor, verdict: 'ACQUITTED' }] });
    expect(s.stage).toBe('VERDICT');
    await env.sleep(10 * DAY);
    s = await handle.executeUpdate(appealUpdate, { args: [{ actor: fia, by: 'PROSECUTION', reason: 'evidence misread' }] });
    expect(s.stage).toBe('TRIAL');
    await handle.executeUpdate(verdictUpdate, { args: [{ actor: prosecutor, verdict: 'CONVICTED' }] });
    expect(await handle.result()).toEqual({ stage: 'CLOSED', verdict: 'CONVICTED', chargeDecision: 'CHARGED' });
    const final = await state(handle);
    expect(final.timeline.map((e) => e.action).slice(-4)).toEqual(['VERDICT', 'APPEAL_FILED', 'VERDICT', 'CLOSED']);
    expect(final.timeline.find((e) => e.action === 'APPEAL_FILED')).toMatchObject({ actor: 'fia-io-1', agency: 'FIA', details: { by: 'PROSECUTION', appeal: 1 } });
    // Stage event ids stay unique across the runs.
    await waitFor(async () => stageSent(referral.referralId).some((e) => e.action === 'CLOSED'));
    const ids = sent(referral.referralId).map((r) => r.headers['ce_id']);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('stops on stopTrack: every clock cancelled, stage STOPPED', async () => {
    const handle = await start(justiceInput(detected({ sourceAgency: 'NCCIA', facts: fjaFacts })));
    await handle.signal(stopTrackSignal, { reason: 'referral withdrawn' });
    expect(await handle.result()).toEqual({ stage: 'STOPPED' });
    const s = await state(handle);
    expect(s.sla.map((c) => c.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    expect(s.timeline.at(-1)).toMatchObject({ action: 'STOPPED', reason: 'referral withdrawn' });
  });
});

function clock(state: JusticeState, step: string): SlaClockView | undefined {
  return state.sla.find((c) => c.step === step);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not reached in time');
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
