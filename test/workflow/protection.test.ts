import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priorityOf } from '../../domain/priority.js';
import { routeCase } from '../../domain/routing.js';
import type { OutboundRecord } from '../../messaging/records.js';
import type { CaseFlags } from '../../schemas/intake.js';
import type { Policy } from '../../schemas/policy.js';
import { createReferralWorker, workflowsPath } from '../../workers/temporal-worker.js';
import type { Actor, ActorRole } from '../../workflows/actions.js';
import {
  completeTaskUpdate,
  extendDeadlineUpdate,
  followUpUpdate,
  protectionPlacementUpdate,
  protectionStateQuery,
  protectionWorkflowId,
  reassignStepUpdate,
  reintegrationPlanUpdate,
  stopTrackSignal,
} from '../../workflows/messages.js';
import { PARTNER_TASKS_OPEN_PATCH, protectionWorkflow } from '../../workflows/protection.js';
import { NextDeadlineKey, PartnerTasksOpenKey, SlaBreachedKey, StageKey } from '../../workflows/search-attributes.js';
import type { ProtectionInput, ProtectionState } from '../../workflows/types.js';
import { detected, shippedPolicy } from '../support/fixtures.js';
import { RecordingPublisher } from '../support/recording-publisher.js';
import { createTimeSkippingEnv } from '../support/time-skipping.js';

const topics = { intake: 'i', actions: 'a', deadLetter: 'd', events: 'e', notifyPrefix: 'notify.' };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The workflow's follow-up month: 30 days of elapsed time. */
const MONTH = 30 * DAY;
/**
 * Partner organisations (IOM, SSDO, …) are not agency codes: activities/index.ts puts each one's
 * notifications on its own topic (`<notifyPrefix>partner.<org>`), which only it may read.
 */
const partnerTopic = (org: string) => `notify.partner.${org.toLowerCase()}`;
/** Where a notification went and to whom: [topic, recipient]. */
const route = (r: OutboundRecord) => [r.topic, (JSON.parse(String(r.value)) as { recipient: string }).recipient].join(' ');

type Handle = WorkflowHandle<typeof protectionWorkflow>;

const swd = (role: ActorRole = 'OFFICER'): Actor => ({ actorId: 'swd-officer-1', agency: 'SWD', role });
const agency = (code: string, role: ActorRole = 'OFFICER'): Actor => ({ actorId: `${code.toLowerCase()}-1`, agency: code, role });
const partner = (organisation: string, role: ActorRole = 'PARTNER'): Actor => ({
  actorId: `${organisation.toLowerCase()}-caseworker`,
  agency: 'PARTNER',
  role,
  organisation,
});

/** Partners' free text: must stay in the (encrypted) timeline, never reach Kafka or search attributes. */
const NOTES = [
  'Survivor Ayesha moved to her sister house in Sialkot, phone 0300-7654321',
  'Clinic visit refused; survivor pregnant, see Dr Khan at Mayo hospital',
  'Family in Gujranwala traced, uncle Tariq agreed to host',
];

describe('protection workflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let workflowBundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
  const publisher = new RecordingPublisher();
  const taskQueue = 'protection';

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });
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

  async function start(opts: { flags?: Partial<CaseFlags>; policy?: Policy; victimAtRisk?: boolean; identifiedAt?: number } = {}) {
    const policy = opts.policy ?? shippedPolicy();
    const base = detected();
    const referral = detected({ facts: { flags: { ...base.facts.flags, ...opts.flags } } });
    const routing = routeCase(policy, referral.facts);
    if (routing.status !== 'ROUTED') throw new Error('fixture must route');
    const flags = referral.facts.flags;
    const nowMs = await env.currentTimeMs();
    const input: ProtectionInput = {
      referralId: referral.referralId,
      // No such workflow: the track must carry on when its referral cannot be signalled.
      parentWorkflowId: `referral-${referral.referralId}`,
      policy,
      urgent: flags.minor || flags.victimAtRisk,
      priority: priorityOf(flags),
      province: referral.facts.location.province,
      district: referral.facts.location.district,
      routing,
      victimAtRisk: opts.victimAtRisk ?? flags.victimAtRisk,
      identifiedAt: new Date(opts.identifiedAt ?? nowMs).toISOString(),
    };
    const handle = await env.client.workflow.start(protectionWorkflow, {
      workflowId: protectionWorkflowId(referral.referralId),
      taskQueue,
      args: [input],
    });
    await waitFor(async () => (await handle.query(protectionStateQuery)).timeline.length > 0);
    return { handle, referralId: referral.referralId, input, nowMs };
  }

  const sent = (referralId: string): OutboundRecord[] => publisher.records.filter((r) => r.key === referralId);
  const data = (r: OutboundRecord) => publisher.data<Record<string, string>>(r);
  const slaSent = (referralId: string, step: string) =>
    sent(referralId).filter((r) => r.headers['ce_type'] === 'referral.sla.v1' && data(r)['step'] === step);
  const stageSent = (referralId: string, action: string) =>
    sent(referralId).filter((r) => r.headers['ce_type'] === 'referral.stage.v1' && data(r)['action'] === action);
  const state = (handle: Handle): Promise<ProtectionState> => handle.query(protectionStateQuery);
  const clock = async (handle: Handle, step: string) => (await state(handle)).sla.find((c) => c.step === step);

  async function attributes(handle: Handle) {
    const sa = (await handle.describe()).typedSearchAttributes;
    return { stage: sa.get(StageKey), breached: sa.get(SlaBreachedKey), next: sa.get(NextDeadlineKey) };
  }

  async function stop(handle: Handle): Promise<void> {
    await handle.signal(stopTrackSignal, { reason: 'test done' });
    expect(await handle.result()).toMatchObject({ stage: 'STOPPED' });
  }

  async function planAndComplete(handle: Handle, tasks: Array<{ taskId: string; kind: 'SHELTER' | 'MEDICAL' | 'PSYCHOSOCIAL' | 'LEGAL_AID' | 'FAMILY_TRACING' | 'LIVELIHOOD' | 'EDUCATION'; partner: string }>) {
    await handle.executeUpdate(reintegrationPlanUpdate, { args: [{ actor: swd(), partner: 'IOM', tasks }] });
    for (const [i, task] of tasks.entries()) {
      await handle.executeUpdate(completeTaskUpdate, {
        args: [{ actor: partner(task.partner), taskId: task.taskId, outcome: 'DONE', notes: NOTES[i % NOTES.length] }],
      });
    }
  }

  it('places a victim at risk in protection within 24 h, then waits for the reintegration plan', async () => {
    const { handle, referralId } = await start({ flags: { victimAtRisk: true } });
    expect((await state(handle)).stage).toBe('IMMEDIATE_PROTECTION');
    const opened = await waitForRecords(() => stageSent(referralId, 'PROTECTION_TRACK_OPENED'), 3);
    const protection = (await clock(handle, 'protection'))!;
    expect(Date.parse(protection.deadline) - Date.parse(protection.startedAt)).toBe(24 * HOUR);
    expect(opened.map((r) => r.topic).sort()).toEqual(['e', 'notify.fia', 'notify.swd']);
    expect(data(opened.find((r) => r.topic === 'notify.swd')!)).toMatchObject({
      track: 'protection',
      stage: 'IMMEDIATE_PROTECTION',
      dueBy: protection.deadline,
      priority: 'URGENT',
    });
    expect(await attributes(handle)).toEqual({ stage: 'PROTECTION:IMMEDIATE_PROTECTION', breached: false, next: new Date(protection.deadline) });

    await env.sleep(10 * HOUR);
    const placed = await handle.executeUpdate(protectionPlacementUpdate, { args: [{ actor: swd(), placement: 'SHELTER' }] });
    expect(placed).toMatchObject({ stage: 'PLANNING', placement: 'SHELTER' });
    await waitFor(async () => (await clock(handle, 'protection'))?.status === 'MET');
    expect(await clock(handle, 'protection')).toMatchObject({ status: 'MET', breached: false, firedRungs: [] });
    expect(await clock(handle, 'reintegrationPlan')).toMatchObject({ status: 'RUNNING', responsible: 'SWD' });
    expect(slaSent(referralId, 'protection')).toEqual([]);
    const next = await waitForRecords(() => stageSent(referralId, 'PROTECTION_PLACED'), 2);
    expect(data(next.find((r) => r.topic === 'notify.swd')!)).toMatchObject({ stage: 'PLANNING', actorAgency: 'SWD', actionRequired: expect.stringMatching(/reintegration plan/) });
    await waitFor(async () => (await attributes(handle)).stage === 'PROTECTION:PLANNING');
    await stop(handle);
  });

  it('breaches the placement deadline and climbs the whole ladder in order while the step keeps waiting, then meets it', async () => {
    const { handle, referralId } = await start({ flags: { victimAtRisk: true } });
    const protection = (await clock(handle, 'protection'))!;
    const startMs = Date.parse(protection.startedAt);
    const ladder = [
      { rung: 'reminder', at: 18 * HOUR, kind: 'REMINDER', topics: ['notify.swd'] },
      { rung: 'breach', at: 24 * HOUR, kind: 'BREACH', topics: ['notify.swd'] },
      { rung: 'district-committee', at: 36 * HOUR, kind: 'ESCALATION', topics: ['notify.ahtc-d.punjab.lahore'] },
      { rung: 'provincial-committee', at: 48 * HOUR, kind: 'ESCALATION', topics: ['notify.ahtc-p.punjab'] },
      // Top rung: the national committee and the ministry the charge matrix names (MOI).
      { rung: 'national-committee', at: 72 * HOUR, kind: 'ESCALATION', topics: ['notify.ahtc-n', 'notify.moi'] },
    ];
    for (const step of ladder) {
      const before = async () => slaSent(referralId, 'protection').filter((r) => data(r)['rung'] === step.rung);
      await env.sleep(startMs + step.at - (await env.currentTimeMs()) - 60_000);
      expect(await before()).toEqual([]);
      await env.sleep(2 * 60_000);
      const fired = await waitForRecords(() => slaSent(referralId, 'protection').filter((r) => data(r)['rung'] === step.rung), step.topics.length);
      expect(fired.map((r) => r.topic).sort()).toEqual(step.topics);
      for (const r of fired) {
        expect(Math.abs(Date.parse(r.headers['ce_time']!) - (startMs + step.at))).toBeLessThan(5_000);
        expect(data(r)).toMatchObject({ kind: step.kind, responsible: 'SWD', step: 'protection', stage: 'IMMEDIATE_PROTECTION', deadline: protection.deadline });
      }
    }
    // In order: every rung's records after the previous rung's.
    const order = slaSent(referralId, 'protection').map((r) => data(r)['rung']);
    expect([...new Set(order)]).toEqual(ladder.map((l) => l.rung));

    // Still waiting, breached, at its stage.
    const waiting = await state(handle);
    expect(waiting.stage).toBe('IMMEDIATE_PROTECTION');
    expect(waiting.sla.find((c) => c.step === 'protection')).toMatchObject({ status: 'RUNNING', breached: true, firedRungs: ladder.map((l) => l.rung) });
    expect(waiting.timeline.filter((e) => e.action.startsWith('SLA_')).map((e) => e.action)).toEqual([
      'SLA_REMINDER',
      'SLA_BREACH',
      'SLA_ESCALATION',
      'SLA_ESCALATION',
      'SLA_ESCALATION',
    ]);
    await waitFor(async () => (await attributes(handle)).breached === true);

    // The lead agency may place the victim too; the clock is met late.
    await handle.executeUpdate(protectionPlacementUpdate, { args: [{ actor: agency('FIA'), placement: 'MEDICAL', reason: 'SWD shelter full' }] });
    await waitFor(async () => (await clock(handle, 'protection'))?.status === 'MET');
    expect(await clock(handle, 'protection')).toMatchObject({ status: 'MET', breached: true });
    await waitFor(async () => (await attributes(handle)).breached === false);
    expect((await attributes(handle)).stage).toBe('PROTECTION:PLANNING');
    await stop(handle);
  });

  it('applies the shorter urgent deadline to a minor when the policy sets one', async () => {
    const policy = shippedPolicy();
    expect(policy.sla['protection']?.urgentDeadline).toBeUndefined();
    const urgentPolicy: Policy = { ...policy, sla: { ...policy.sla, protection: { deadline: { hours: 24 }, urgentDeadline: { hours: 6 } } } };

    const minor = await start({ policy: urgentPolicy, flags: { minor: true }, victimAtRisk: true });
    expect(minor.input).toMatchObject({ urgent: true, priority: 'URGENT' });
    const urgentClock = (await clock(minor.handle, 'protection'))!;
    expect(Date.parse(urgentClock.deadline) - Date.parse(urgentClock.startedAt)).toBe(6 * HOUR);

    // The same policy without urgency keeps 24 h (an adult whose risk was found at screening, say).
    const adult = await start({ policy: urgentPolicy, victimAtRisk: true });
    expect(adult.input.urgent).toBe(false);
    const adultClock = (await clock(adult.handle, 'protection'))!;
    expect(Date.parse(adultClock.deadline) - Date.parse(adultClock.startedAt)).toBe(24 * HOUR);
    await stop(adult.handle);

    // The minor's breach comes at 6 h (reminder at 4.5 h), not 24 h.
    await env.sleep(Date.parse(urgentClock.startedAt) + 6 * HOUR + 60_000 - (await env.currentTimeMs()));
    const fired = await waitForRecords(() => slaSent(minor.referralId, 'protection'), 2);
    expect(fired.map((r) => [data(r)['rung'], r.topic, data(r)['priority']])).toEqual([
      ['reminder', 'notify.swd', 'URGENT'],
      ['breach', 'notify.swd', 'URGENT'],
    ]);
    await stop(minor.handle);
  });

  it('agrees a plan, runs its tasks, lets only the assigned partner complete each, once, and keeps partners\' notes out of notifications', async () => {
    const { handle, referralId } = await start();
    expect((await state(handle)).stage).toBe('PLANNING');
    const plan = await handle.executeUpdate(reintegrationPlanUpdate, {
      args: [
        {
          actor: swd(),
          partner: 'IOM',
          tasks: [
            { taskId: 't1', kind: 'SHELTER', partner: 'IOM' },
            { taskId: 't2', kind: 'PSYCHOSOCIAL', partner: 'SSDO' },
          ],
        },
      ],
    });
    expect(plan).toMatchObject({ stage: 'TASKS', partner: 'IOM' });
    expect(plan.tasks.map((t) => [t.taskId, t.partner, t.status])).toEqual([
      ['t1', 'IOM', 'OPEN'],
      ['t2', 'SSDO', 'OPEN'],
    ]);
    await waitFor(async () => (await state(handle)).sla.filter((c) => c.step.startsWith('partnerTask:')).length === 2);
    const s = await state(handle);
    for (const task of s.tasks) {
      const c = s.sla.find((x) => x.step === `partnerTask:${task.taskId}`)!;
      expect(c).toMatchObject({ status: 'RUNNING', responsible: task.partner, deadline: task.dueBy });
      expect(Date.parse(c.deadline) - Date.parse(c.startedAt)).toBe(30 * DAY);
    }
    const told = await waitForRecords(() => stageSent(referralId, 'REINTEGRATION_PLAN_AGREED'), 3);
    expect(told.map(route).sort()).toEqual(['e OPERATORS', `${partnerTopic('IOM')} IOM`, `${partnerTopic('SSDO')} SSDO`]);
    expect(data(told.find((r) => data(r)['recipient'] === 'IOM')!)['actionRequired']).toContain('t1 (SHELTER)');

    // Another partner cannot complete IOM's task.
    await expectRejected(
      handle.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('SSDO'), taskId: 't1', outcome: 'DONE' }] }),
      'Forbidden',
      'actor.organisation',
    );
    // Nor can SWD: the task is the partner's.
    await expectRejected(handle.executeUpdate(completeTaskUpdate, { args: [{ actor: swd(), taskId: 't1', outcome: 'DONE' }] }), 'Forbidden', 'actor.agency');
    await expectRejected(
      handle.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('IOM'), taskId: 't9', outcome: 'DONE' }] }),
      'InvalidAction',
      'taskId',
    );

    const done = await handle.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('IOM'), taskId: 't1', outcome: 'DONE', notes: NOTES[0] }] });
    expect(done.tasks.find((t) => t.taskId === 't1')).toMatchObject({ status: 'DONE', completedAt: expect.any(String) });
    expect(done.stage).toBe('TASKS');
    await expectRejected(
      handle.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('IOM'), taskId: 't1', outcome: 'NOT_POSSIBLE' }] }),
      'InvalidTransition',
      'taskId',
    );
    await waitFor(async () => (await clock(handle, 'partnerTask:t1'))?.status === 'MET');
    expect(await clock(handle, 'partnerTask:t2')).toMatchObject({ status: 'RUNNING' });

    await handle.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('SSDO'), taskId: 't2', outcome: 'NOT_POSSIBLE', notes: NOTES[1] }] });
    await waitFor(async () => (await state(handle)).stage === 'FOLLOW_UP');
    const after = await state(handle);
    expect(after.timeline.map((e) => e.action)).toEqual([
      'PROTECTION_TRACK_OPENED',
      'REINTEGRATION_PLAN_AGREED',
      'PARTNER_TASK_COMPLETED',
      'PARTNER_TASK_COMPLETED',
      'REINTEGRATED',
    ]);
    expect(after.timeline.every((e) => e.track === 'protection')).toBe(true);
    // The notes are in the audit trail, with who wrote them…
    const completed = after.timeline.filter((e) => e.action === 'PARTNER_TASK_COMPLETED');
    expect(completed.map((e) => [e.agency, e.details?.['taskId'], e.details?.['outcome'], e.details?.['notes']])).toEqual([
      ['IOM', 't1', 'DONE', NOTES[0]],
      ['SSDO', 't2', 'NOT_POSSIBLE', NOTES[1]],
    ]);
    // …and nowhere else: not in a notification, not in a search attribute.
    await waitForRecords(() => stageSent(referralId, 'REINTEGRATED'), 1);
    const notSwd = await waitForRecords(() => stageSent(referralId, 'PARTNER_TASK_COMPLETED').filter((r) => r.topic === 'notify.swd'), 2);
    expect(data(notSwd[1]!)['actionRequired']).toMatch(/t2 \(PSYCHOSOCIAL\) was not possible/);
    expectNoNotes(sent(referralId));
    const description = await handle.describe();
    for (const note of NOTES) expect(JSON.stringify(description.searchAttributes)).not.toContain(note.slice(0, 20));
    expect(await attributes(handle)).toMatchObject({ stage: 'PROTECTION:FOLLOW_UP', breached: false });
    await stop(handle);
  });

  it('keeps PartnerTasksOpen to the organisations with an open task, written only when it changes', async () => {
    const { handle } = await start();
    const open = async () => (await handle.describe()).typedSearchAttributes.get(PartnerTasksOpenKey);
    expect(await open()).toBeUndefined();
    await handle.executeUpdate(reintegrationPlanUpdate, {
      args: [
        {
          actor: swd(),
          partner: 'SSDO',
          tasks: [
            { taskId: 't1', kind: 'SHELTER', partner: 'SSDO' },
            { taskId: 't2', kind: 'MEDICAL', partner: 'IOM' },
            { taskId: 't3', kind: 'LEGAL_AID', partner: 'SSDO' },
          ],
        },
      ],
    });
    await waitFor(async () => (await open())?.length === 2);
    expect(await open()).toEqual(['IOM', 'SSDO']);
    // SSDO still has t3 open: nothing to write.
    await handle.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('SSDO'), taskId: 't1', outcome: 'DONE' }] });
    await handle.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('SSDO'), taskId: 't3', outcome: 'NOT_POSSIBLE' }] });
    await waitFor(async () => (await open())?.length === 1);
    expect(await open()).toEqual(['IOM']);
    await handle.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('IOM'), taskId: 't2', outcome: 'DONE' }] });
    await waitFor(async () => (await state(handle)).stage === 'FOLLOW_UP');
    await waitFor(async () => (await open()) === undefined);

    const history = await handle.fetchHistory();
    const written = (history.events ?? []).flatMap((e) => {
      const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
      return fields && PartnerTasksOpenKey.name in fields ? [String(Buffer.from(fields[PartnerTasksOpenKey.name]!.data ?? []))] : [];
    });
    expect(written).toEqual(['["IOM","SSDO"]', '["IOM"]', expect.anything()]);
    const patches = (history.events ?? []).flatMap((e) => {
      const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
      return data ? [(JSON.parse(String(Buffer.from(data))) as { id: string }).id] : [];
    });
    expect(patches.filter((id) => id === PARTNER_TASKS_OPEN_PATCH)).toHaveLength(1);
    await Worker.runReplayHistory({ workflowBundle, replayName: 'partner-tasks-open' }, history);
    await stop(handle);
  });

  it('clears PartnerTasksOpen when the track stops with tasks open', async () => {
    const { handle } = await start();
    await handle.executeUpdate(reintegrationPlanUpdate, { args: [{ actor: swd(), partner: 'IOM', tasks: [{ taskId: 'med-1', kind: 'MEDICAL', partner: 'IOM' }] }] });
    await waitFor(async () => (await handle.describe()).typedSearchAttributes.get(PartnerTasksOpenKey)?.length === 1);
    await stop(handle);
    expect((await handle.describe()).typedSearchAttributes.get(PartnerTasksOpenKey)).toBeUndefined();
    expect((await state(handle)).tasks).toMatchObject([{ taskId: 'med-1', status: 'OPEN' }]);
  });

  it('notifies the partner organisation when its task deadline is breached', async () => {
    const { handle, referralId } = await start();
    await handle.executeUpdate(reintegrationPlanUpdate, {
      args: [
        {
          actor: swd(),
          partner: 'IOM',
          tasks: [
            { taskId: 'shelter-1', kind: 'SHELTER', partner: 'SSDO' },
            { taskId: 'livelihood-1', kind: 'LIVELIHOOD', partner: 'IOM' },
          ],
        },
      ],
    });
    await handle.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('SSDO'), taskId: 'shelter-1', outcome: 'DONE' }] });
    await waitFor(async () => (await clock(handle, 'partnerTask:shelter-1'))?.status === 'MET');
    const task = (await clock(handle, 'partnerTask:livelihood-1'))!;
    expect(await attributes(handle)).toMatchObject({ stage: 'PROTECTION:TASKS', next: new Date(task.deadline) });

    await env.sleep(Date.parse(task.deadline) + 60_000 - (await env.currentTimeMs()));
    const fired = await waitForRecords(() => slaSent(referralId, 'partnerTask:livelihood-1'), 2);
    expect(fired.map((r) => [data(r)['rung'], route(r), data(r)['responsible'], data(r)['kind']])).toEqual([
      ['reminder', `${partnerTopic('IOM')} IOM`, 'IOM', 'REMINDER'],
      ['breach', `${partnerTopic('IOM')} IOM`, 'IOM', 'BREACH'],
    ]);
    expect(data(fired[1]!)).toMatchObject({ stage: 'TASKS', deadline: task.deadline, actionRequired: expect.stringContaining('livelihood-1') });
    expect(slaSent(referralId, 'partnerTask:shelter-1')).toEqual([]);
    expect(await clock(handle, 'partnerTask:livelihood-1')).toMatchObject({ status: 'RUNNING', breached: true });
    await waitFor(async () => (await attributes(handle)).breached === true);
    await stop(handle);
  });

  it('runs 12 months of follow-ups in seconds, continuing as new after each, and closes', async () => {
    const wallStart = Date.now();
    const { handle, referralId } = await start();
    const firstRunId = (await handle.describe()).runId;
    await planAndComplete(handle, [
      { taskId: 'fam-1', kind: 'FAMILY_TRACING', partner: 'IOM' },
      { taskId: 'edu-1', kind: 'EDUCATION', partner: 'SSDO' },
    ]);
    await waitFor(async () => (await state(handle)).stage === 'FOLLOW_UP');
    const reintegrated = (await state(handle)).timeline.find((e) => e.action === 'REINTEGRATED')!;
    const reintegratedMs = Date.parse(reintegrated.at);

    // Not due yet.
    await expectRejected(handle.executeUpdate(followUpUpdate, { args: [{ actor: swd(), month: 3, status: 'STABLE' }] }), 'InvalidTransition', 'month');

    const runIds = new Set([firstRunId]);
    const recorders: Record<number, Actor> = { 3: swd(), 6: partner('IOM'), 12: swd() };
    let followUpsDue = 0;
    for (const month of [3, 6, 12]) {
      await env.sleep(reintegratedMs + month * MONTH + HOUR - (await env.currentTimeMs()));
      await waitFor(async () => (await clock(handle, `followUp:${month}`))?.status === 'RUNNING');
      const due = (await waitForRecords(() => stageSent(referralId, 'FOLLOW_UP_DUE'), 4 * (followUpsDue + 1))).slice(-4);
      followUpsDue += 1;
      expect(due.map(route).sort()).toEqual(['e OPERATORS', `${partnerTopic('IOM')} IOM`, `${partnerTopic('SSDO')} SSDO`, 'notify.swd SWD']);
      expect(data(due.find((r) => data(r)['recipient'] === 'SWD')!)['actionRequired']).toContain(`${month}-month`);
      expect(Math.abs(Date.parse(due[0]!.headers['ce_time']!) - (reintegratedMs + month * MONTH))).toBeLessThan(5_000);
      if (month === 3) {
        await expectRejected(handle.executeUpdate(followUpUpdate, { args: [{ actor: swd(), month: 6, status: 'STABLE' }] }), 'InvalidTransition', 'month');
        await expectRejected(
          handle.executeUpdate(followUpUpdate, { args: [{ actor: partner('ICMPD'), month: 3, status: 'STABLE' }] }),
          'Forbidden',
          'actor.organisation',
        );
      }
      const recorded = await handle.executeUpdate(followUpUpdate, { args: [{ actor: recorders[month]!, month, status: 'STABLE' }] });
      expect(recorded.followUpsDone).toContain(month);
      if (month !== 12) {
        // The run ends with continue-as-new; the next run resumes at the next month.
        await waitFor(async () => !runIds.has((await handle.describe()).runId));
        runIds.add((await handle.describe()).runId);
        const resumed = await state(handle);
        expect(resumed).toMatchObject({ stage: 'FOLLOW_UP', partner: 'IOM', followUpsDone: [3, 6, 12].filter((m) => m <= month) });
        expect(resumed.timeline.map((e) => e.action)).toContain('REINTEGRATION_PLAN_AGREED');
      }
    }
    expect(await handle.result()).toEqual({ stage: 'CLOSED', tasks: 2, followUps: [3, 6, 12] });
    expect(runIds.size).toBe(3);
    const closed = await handle.describe();
    expect(closed.runId).not.toBe(firstRunId);
    expect(closed.typedSearchAttributes.get(StageKey)).toBe('PROTECTION:CLOSED');
    const final = await state(handle);
    expect(final.timeline.filter((e) => e.action === 'FOLLOW_UP_RECORDED').map((e) => [e.details?.['month'], e.agency])).toEqual([
      [3, 'SWD'],
      [6, 'IOM'],
      [12, 'SWD'],
    ]);
    expect(final.timeline.at(-1)?.action).toBe('PROTECTION_TRACK_CLOSED');
    expect(stageSent(referralId, 'PROTECTION_TRACK_CLOSED').map((r) => r.topic).sort()).toEqual(['e', 'notify.swd']);
    expectNoNotes(sent(referralId));
    expect(Date.now() - wallStart).toBeLessThan(15_000);

    // Every run's history replays with the current code: the workflow is deterministic.
    for (const runId of runIds) {
      const history = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle, replayName: `protection-${runId}` }, history);
    }
  });

  it('extends the reintegration-plan clock, timed from identification, and moves its deadline', async () => {
    // Identified two days before the track started: the plan's 14 days run from identification.
    const identifiedAt = (await env.currentTimeMs()) - 2 * DAY;
    const run = await start({ identifiedAt });
    const plan = (await clock(run.handle, 'reintegrationPlan'))!;
    expect(Date.parse(plan.startedAt)).toBe(identifiedAt);
    expect(Date.parse(plan.deadline)).toBe(identifiedAt + 14 * DAY);

    const moved = await run.handle.executeUpdate(extendDeadlineUpdate, {
      // The lead's supervisor moves it (policy authority: lead SUPERVISOR, committee SUPERVISOR, operators).
      args: [{ actor: agency('FIA', 'SUPERVISOR'), step: 'reintegrationPlan', by: { days: 7 }, reason: 'partner has no caseworker free this week' }],
    });
    expect(moved).toEqual({ step: 'reintegrationPlan', deadline: new Date(identifiedAt + 21 * DAY).toISOString() });
    const after = (await clock(run.handle, 'reintegrationPlan'))!;
    expect(after).toMatchObject({ status: 'RUNNING', deadline: moved.deadline, extensions: 1 });
    const entry = (await state(run.handle)).timeline.find((e) => e.action === 'DEADLINE_EXTENDED');
    expect(entry).toMatchObject({ actor: 'fia-1', agency: 'FIA', reason: 'partner has no caseworker free this week', track: 'protection' });
    // 7 days from a deadline 12 days after the start: the working days it adds are recorded, the first of the cap's 2.
    expect(entry?.details).toMatchObject({ step: 'reintegrationPlan', newDeadline: moved.deadline, extension: 1, beyondCap: false });
    expect(entry?.details?.['workingDays']).toBeGreaterThanOrEqual(3);
    const told = await waitForRecords(() => stageSent(run.referralId, 'DEADLINE_EXTENDED').filter((r) => r.topic === 'notify.swd'), 1);
    expect(data(told[0]!)).toMatchObject({ dueBy: moved.deadline, actorAgency: 'FIA' });
    await waitFor(async () => (await attributes(run.handle)).next?.toISOString() === moved.deadline);

    // Nothing fires at the old deadline; the reminder comes at 75 % of the new allowed time.
    await env.sleep(identifiedAt + 14 * DAY + HOUR - (await env.currentTimeMs()));
    expect(slaSent(run.referralId, 'reintegrationPlan').filter((r) => data(r)['rung'] === 'breach')).toEqual([]);

    // Who may move a clock, which clock, and by how much.
    const extend = (actor: Actor, step: string, by: { days: number } | { hours: number }, reason: string) =>
      run.handle.executeUpdate(extendDeadlineUpdate, { args: [{ actor, step, by, reason }] });
    await expectRejected(extend(agency('FIA', 'OFFICER'), 'reintegrationPlan', { days: 1 }, 'why not'), 'Forbidden', 'actor.role');
    // A supporting agency's supervisor (SWD here) does not move clocks.
    await expectRejected(extend(swd('SUPERVISOR'), 'reintegrationPlan', { days: 1 }, 'why not'), 'Forbidden', 'actor.agency');
    await expectRejected(extend(agency('FIA', 'SUPERVISOR'), 'reintegrationPlan', { days: 1 }, ' '), 'InvalidAction', 'reason');
    await expectRejected(extend(agency('FIA', 'SUPERVISOR'), 'protection', { days: 1 }, 'no such clock'), 'InvalidTransition', 'step');
    await expectRejected(extend(agency('FIA', 'SUPERVISOR'), 'reintegrationPlan', { days: -1 }, 'negative'), 'InvalidAction', 'by');
    await expectRejected(extend(partner('IOM', 'SUPERVISOR'), 'reintegrationPlan', { days: 1 }, 'partner'), 'Forbidden', 'actor.agency');
    await expectRejected(extend(agency('NCCIA', 'SUPERVISOR'), 'reintegrationPlan', { days: 1 }, 'outsider'), 'NotAParty', 'actor.agency');

    // A committee of another district may not; the referral's own district committee reassigns:
    // the full 14 days run again from now.
    const districtCommittee = (district: string): Actor => ({ ...agency('AHTC-D', 'SUPERVISOR'), jurisdiction: { province: 'PUNJAB', district } });
    await expectRejected(
      run.handle.executeUpdate(reassignStepUpdate, { args: [{ actor: districtCommittee('MULTAN'), step: 'reintegrationPlan', assignee: 'x', reason: 'not ours' }] }),
      'NotAParty',
      'actor.agency',
    );
    const reassignedAt = await env.currentTimeMs();
    const reassigned = await run.handle.executeUpdate(reassignStepUpdate, {
      args: [{ actor: districtCommittee('LAHORE'), step: 'reintegrationPlan', assignee: 'swd-officer-2', reason: 'officer on leave' }],
    });
    expect(Date.parse(reassigned.deadline) - reassignedAt).toBeGreaterThanOrEqual(14 * DAY - 60_000);
    expect(Date.parse(reassigned.deadline) - reassignedAt).toBeLessThanOrEqual(14 * DAY + 60_000);
    expect(await clock(run.handle, 'reintegrationPlan')).toMatchObject({ assignee: 'swd-officer-2', deadline: reassigned.deadline });
    await expectRejected(
      run.handle.executeUpdate(reassignStepUpdate, { args: [{ actor: agency('FIA', 'SUPERVISOR'), step: 'reintegrationPlan', assignee: '', reason: 'x' }] }),
      'InvalidAction',
      'assignee',
    );
    await stop(run.handle);
  });

  it('rejects invalid actions with their type and the field at fault, before anything is recorded', async () => {
    const { handle } = await start({ flags: { victimAtRisk: true } });
    const place = (actor: Actor, placement: string) =>
      handle.executeUpdate(protectionPlacementUpdate, { args: [{ actor, placement: placement as 'SHELTER' }] });
    await expectRejected(place(agency('NCCIA'), 'SHELTER'), 'NotAParty', 'actor.agency');
    await expectRejected(place(agency('MOI'), 'SHELTER'), 'Forbidden', 'actor.agency');
    await expectRejected(place(partner('IOM'), 'SHELTER'), 'Forbidden', 'actor.agency');
    await expectRejected(place({ actorId: 'x', agency: 'PARTNER', role: 'PARTNER' }, 'SHELTER'), 'InvalidAction', 'actor.organisation');
    await expectRejected(place({ actorId: '', agency: 'SWD', role: 'OFFICER' }, 'SHELTER'), 'InvalidAction', 'actor.actorId');
    await expectRejected(place(swd(), 'HOTEL'), 'InvalidAction', 'placement');

    const plan = (actor: Actor, tasks: unknown[], p = 'IOM') =>
      handle.executeUpdate(reintegrationPlanUpdate, { args: [{ actor, partner: p, tasks: tasks as [] }] });
    // The plan comes after the placement.
    await expectRejected(plan(swd(), [{ taskId: 't1', kind: 'SHELTER', partner: 'IOM' }]), 'InvalidTransition', 'agreeReintegrationPlan');
    await expectRejected(handle.executeUpdate(followUpUpdate, { args: [{ actor: swd(), month: 5, status: 'STABLE' }] }), 'InvalidAction', 'month');
    await expectRejected(
      handle.executeUpdate(completeTaskUpdate, { args: [{ actor: partner('IOM'), taskId: 't1', outcome: 'DONE' }] }),
      'InvalidTransition',
      'completePartnerTask',
    );

    await handle.executeUpdate(protectionPlacementUpdate, { args: [{ actor: swd(), placement: 'CHILD_PROTECTION' }] });
    await expectRejected(place(swd(), 'SHELTER'), 'InvalidTransition', 'recordProtectionPlacement');
    await expectRejected(plan(agency('FIA'), [{ taskId: 't1', kind: 'SHELTER', partner: 'IOM' }]), 'Forbidden', 'actor.agency');
    await expectRejected(plan(swd(), []), 'InvalidAction', 'tasks');
    await expectRejected(plan(swd(), [{ taskId: 't1', kind: 'HOLIDAY', partner: 'IOM' }]), 'InvalidAction', 'tasks.0.kind');
    await expectRejected(
      plan(swd(), [
        { taskId: 't1', kind: 'SHELTER', partner: 'IOM' },
        { taskId: 't1', kind: 'MEDICAL', partner: 'IOM' },
      ]),
      'InvalidAction',
      'tasks.1.taskId',
    );
    await expectRejected(plan(swd(), [{ taskId: 't1', kind: 'SHELTER', partner: 'I O M' }]), 'InvalidAction', 'tasks.0.partner');
    await expectRejected(plan(swd(), [{ taskId: 't1', kind: 'SHELTER', partner: 'IOM' }], ''), 'InvalidAction', 'partner');

    const s = await state(handle);
    expect(s.stage).toBe('PLANNING');
    expect(s.tasks).toEqual([]);
    expect(s.timeline.map((e) => e.action)).toEqual(['PROTECTION_TRACK_OPENED', 'PROTECTION_PLACED']);
    await stop(handle);
  });

  it('stops on the referral\'s signal: clocks cancelled, stage STOPPED, partners told', async () => {
    const { handle, referralId } = await start();
    await handle.executeUpdate(reintegrationPlanUpdate, { args: [{ actor: swd(), partner: 'IOM', tasks: [{ taskId: 'med-1', kind: 'MEDICAL', partner: 'IOM' }] }] });
    await waitFor(async () => (await clock(handle, 'partnerTask:med-1'))?.status === 'RUNNING');
    await handle.signal(stopTrackSignal, { reason: 'referral withdrawn' });
    expect(await handle.result()).toEqual({ stage: 'STOPPED', tasks: 1, followUps: [] });
    const s = await state(handle);
    expect(s.sla.map((c) => [c.step, c.status])).toEqual([
      ['reintegrationPlan', 'MET'],
      ['partnerTask:med-1', 'CANCELLED'],
    ]);
    expect(s.timeline.at(-1)).toMatchObject({ action: 'TRACK_STOPPED', reason: 'referral withdrawn' });
    expect(stageSent(referralId, 'TRACK_STOPPED').map(route).sort()).toEqual(['e OPERATORS', `${partnerTopic('IOM')} IOM`, 'notify.swd SWD']);
    const sa = (await handle.describe()).typedSearchAttributes;
    expect(sa.get(StageKey)).toBe('PROTECTION:STOPPED');
    expect(sa.get(NextDeadlineKey)).toBeUndefined();
  });

  it('stops in the follow-up phase, in a continued run, keeping the follow-ups done', async () => {
    const { handle } = await start();
    const firstRunId = (await handle.describe()).runId;
    await planAndComplete(handle, [{ taskId: 'leg-1', kind: 'LEGAL_AID', partner: 'SSDO' }]);
    await waitFor(async () => (await state(handle)).stage === 'FOLLOW_UP');
    const reintegratedMs = Date.parse((await state(handle)).timeline.find((e) => e.action === 'REINTEGRATED')!.at);
    await env.sleep(reintegratedMs + 3 * MONTH + HOUR - (await env.currentTimeMs()));
    await waitFor(async () => (await clock(handle, 'followUp:3'))?.status === 'RUNNING');
    await handle.executeUpdate(followUpUpdate, { args: [{ actor: partner('SSDO'), month: 3, status: 'NEEDS_SUPPORT' }] });
    await waitFor(async () => (await handle.describe()).runId !== firstRunId);
    await handle.signal(stopTrackSignal, { reason: 'referral withdrawn' });
    expect(await handle.result()).toEqual({ stage: 'STOPPED', tasks: 1, followUps: [3] });
    expect((await state(handle)).timeline.map((e) => e.action).slice(-2)).toEqual(['FOLLOW_UP_RECORDED', 'TRACK_STOPPED']);
  });

  it('never published a partner\'s free-text notes, in any test', () => {
    expectNoNotes(publisher.records);
  });
});

function expectNoNotes(records: OutboundRecord[]): void {
  const everything = JSON.stringify(records.map((r) => ({ ...r, value: String(r.value) })));
  for (const note of NOTES) {
    expect(everything).not.toContain(note);
    for (const fragment of note.split(/[,;] /)) expect(everything).not.toContain(fragment);
  }
}

/** An update rejected by its validator: the failure's type, and a message that starts with the field (or action) at fault. */
async function expectRejected(promise: Promise<unknown>, type: string, field: string): Promise<void> {
  const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await expect(promise).rejects.toMatchObject({ cause: { type, message: expect.stringMatching(new RegExp(`^${escaped}[: ]`)) } });
}

async function waitForRecords(get: () => OutboundRecord[], count: number, timeoutMs = 20_000): Promise<OutboundRecord[]> {
  await waitFor(async () => get().length >= count, timeoutMs);
  return get();
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached in time');
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
