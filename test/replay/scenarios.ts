import type { Client } from '@temporalio/client';
import type { Actor } from '../../workflows/actions.js';
import {
  acknowledgeUpdate,
  chargeDecisionUpdate,
  closeReferralUpdate,
  completeScreeningUpdate,
  completeTaskUpdate,
  extendDeadlineUpdate,
  followUpUpdate,
  investigationReportUpdate,
  justiceStateQuery,
  justiceWorkflowId,
  protectionPlacementUpdate,
  protectionStateQuery,
  protectionWorkflowId,
  reclassifyUpdate,
  referralStateQuery,
  registerCaseUpdate,
  reintegrationPlanUpdate,
  trialUpdateUpdate,
} from '../../workflows/messages.js';
import { PartnerTasksOpenKey } from '../../workflows/search-attributes.js';
import { startReferral } from '../../bridge/intake.js';
import { detected, shippedPolicy, workflowInput } from '../support/fixtures.js';

/**
 * Scenarios whose histories are captured into test/histories/ by `npm run capture-history`.
 * A history captured once is never re-captured: it stands for referrals already running in
 * production, which every later version of the workflow must still replay.
 */
export interface Scenario {
  name: string;
  /**
   * Returns the workflow ids whose histories to store: the first as NAME.json, others as
   * NAME.<suffix>.json; a workflow that continued as new has each run stored, as .run1, .run2, ….
   */
  run(client: Client, taskQueue: string, skip: (ms: number) => Promise<void>): Promise<string[]>;
}

/**
 * Lifecycle v2, mid-flight: acknowledged late (ladder fired), screened, both tracks running, an
 * extension granted, a task done. Stored open so replay covers waiting timers and handlers.
 */
async function tracksOpen(client: Client, taskQueue: string, skip: (ms: number) => Promise<void>, referralId: string, asTheBridgeStarts: boolean): Promise<string[]> {
  const referral = detected({
    referralId,
    facts: { flags: { minor: true, victimAbroad: false, victimAtRisk: true, organisedNetwork: false, crossBorder: true } },
  });
  const fia: Actor = { actorId: 'fia-9', agency: 'FIA', role: 'OFFICER' };
  const swd: Actor = { actorId: 'swd-2', agency: 'SWD', role: 'OFFICER' };
  let handle = client.workflow.getHandle(`referral-${referral.referralId}`);
  if (asTheBridgeStarts) await startReferral({ client, taskQueue, policy: shippedPolicy() }, referral, { eventId: `detected-${referralId}`, source: 'urn:test' });
  else handle = await client.workflow.start('referralWorkflow', { workflowId: handle.workflowId, taskQueue, args: [workflowInput(referral)] });
  await untilStage(handle, 'SCREENING');
  await skip(5 * 3_600_000);
  await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: fia, reason: 'late: officer on leave' }] });
  await handle.executeUpdate(completeScreeningUpdate, {
    args: [{ actor: fia, outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: true, consent: 'NOT_REQUIRED' }],
  });
  const justice = client.workflow.getHandle(justiceWorkflowId(referral.referralId));
  const protection = client.workflow.getHandle(protectionWorkflowId(referral.referralId));
  await until(async () => (await justice.query(justiceStateQuery)).stage === 'REGISTRATION');
  await justice.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED', caseNumber: 'FIR-99/2026' }] });
  await justice.executeUpdate(extendDeadlineUpdate, {
    args: [{ actor: { ...fia, role: 'SUPERVISOR' }, step: 'investigationReport', by: { days: 7 }, reason: 'forensic report awaited' }],
  });
  await until(async () => (await protection.query(protectionStateQuery)).stage === 'IMMEDIATE_PROTECTION');
  await protection.executeUpdate(protectionPlacementUpdate, { args: [{ actor: swd, placement: 'CHILD_PROTECTION' }] });
  await protection.executeUpdate(reintegrationPlanUpdate, {
    args: [{ actor: swd, partner: 'IOM', tasks: [{ taskId: 'edu-1', kind: 'EDUCATION', partner: 'IOM' }, { taskId: 'fam-1', kind: 'FAMILY_TRACING', partner: 'IOM' }] }],
  });
  const iom: Actor = { actorId: 'iom-3', agency: 'PARTNER', role: 'PARTNER', organisation: 'IOM' };
  await protection.executeUpdate(completeTaskUpdate, { args: [{ actor: iom, taskId: 'edu-1', outcome: 'DONE' }] });
  await justice.executeUpdate(investigationReportUpdate, { args: [{ actor: fia, kind: 'FINAL' }] });
  await justice.executeUpdate(chargeDecisionUpdate, { args: [{ actor: { actorId: 'pp-1', agency: 'PROSECUTION', role: 'OFFICER' }, decision: 'CHARGED' }] });
  await skip(40 * 86_400_000); // a missed prosecution status update: the ladder fires on the justice track
  await until(async () => (await handle.query(referralStateQuery)).stage === 'IN_PROGRESS');
  return [handle.workflowId, justice.workflowId, protection.workflowId];
}

const DAY = 86_400_000;

/**
 * After 'track-action-ids-carried-across-continue-as-new', with actions as the actions bridge
 * sends them (update ids from the CloudEvent's source and id, actors vouched for with assertedBy)
 * and as the API sends them (neither). The justice track continues as new after ten hearings and
 * the protection track after the 3-month follow-up; in each new run an action of the run before is
 * redelivered and answered from the carried window. Stored open: both tracks wait in their
 * second run.
 */
async function actionIdsCarried(client: Client, taskQueue: string, skip: (ms: number) => Promise<void>): Promise<string[]> {
  const referral = detected({ referralId: 'HIST-ACTION-IDS-1' });
  const id = (source: string, eventId: string) => ({ updateId: JSON.stringify([source, eventId]) });
  const fia: Actor = { actorId: 'fia-5', agency: 'FIA', role: 'OFFICER', assertedBy: 'FIA' };
  const pp: Actor = { actorId: 'pp-2', agency: 'PROSECUTION', role: 'OFFICER', assertedBy: 'PROSECUTION' };
  const swd: Actor = { actorId: 'swd-4', agency: 'SWD', role: 'OFFICER' };
  const iom: Actor = { actorId: 'iom-7', agency: 'PARTNER', role: 'PARTNER', organisation: 'IOM', assertedBy: 'PARTNER:IOM' };
  await startReferral({ client, taskQueue, policy: shippedPolicy() }, referral, { eventId: `detected-${referral.referralId}`, source: 'urn:test' });
  const handle = client.workflow.getHandle(`referral-${referral.referralId}`);
  await untilStage(handle, 'SCREENING');
  await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: fia, reason: 'officer assigned' }], ...id('urn:agency:fia', 'ack-1') });
  await handle.executeUpdate(completeScreeningUpdate, {
    args: [{ actor: { actorId: 'fia-5', agency: 'FIA', role: 'OFFICER' }, outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: false, consent: 'GIVEN' }],
  });

  const justice = client.workflow.getHandle(justiceWorkflowId(referral.referralId));
  const protection = client.workflow.getHandle(protectionWorkflowId(referral.referralId));
  await until(async () => (await justice.query(justiceStateQuery)).stage === 'REGISTRATION');
  const justiceRun = (await justice.describe()).runId;
  await justice.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED', caseNumber: 'FIR-21/2026' }], ...id('urn:agency:fia', 'register-1') });
  await justice.executeUpdate(investigationReportUpdate, { args: [{ actor: fia, kind: 'FINAL' }], ...id('urn:agency:fia', 'report-1') });
  await justice.executeUpdate(chargeDecisionUpdate, { args: [{ actor: pp, decision: 'CHARGED' }], ...id('urn:agency:prosecution', 'charge-1') });
  for (let i = 1; i <= 10; i++) {
    await justice.executeUpdate(trialUpdateUpdate, { args: [{ actor: pp, note: `hearing ${i}` }], ...id('urn:agency:prosecution', `hearing-${i}`) });
  }
  await until(async () => (await justice.describe()).runId !== justiceRun && (await justice.query(justiceStateQuery)).sla.some((c) => c.status === 'RUNNING'));
  await justice.executeUpdate(chargeDecisionUpdate, { args: [{ actor: pp, decision: 'CHARGED' }], ...id('urn:agency:prosecution', 'charge-1') });
  await justice.executeUpdate(trialUpdateUpdate, { args: [{ actor: pp, note: 'hearing 10' }], ...id('urn:agency:prosecution', 'hearing-10') });
  await justice.executeUpdate(trialUpdateUpdate, { args: [{ actor: pp, note: 'hearing 11' }], ...id('urn:agency:prosecution', 'hearing-11') });

  await until(async () => (await protection.query(protectionStateQuery)).stage === 'PLANNING');
  const plan = { actor: swd, partner: 'IOM', tasks: [{ taskId: 'med-1', kind: 'MEDICAL' as const, partner: 'IOM' }] };
  await protection.executeUpdate(reintegrationPlanUpdate, { args: [plan], ...id('urn:agency:swd', 'plan-1') });
  await protection.executeUpdate(completeTaskUpdate, { args: [{ actor: iom, taskId: 'med-1', outcome: 'DONE', notes: 'clinic visit done' }], ...id('urn:partner:iom', 'task-1') });
  await until(async () => (await protection.query(protectionStateQuery)).stage === 'FOLLOW_UP');
  const protectionRun = (await protection.describe()).runId;
  await skip(3 * 30 * DAY + 3_600_000);
  await until(async () => (await protection.query(protectionStateQuery)).sla.some((c) => c.step === 'followUp:3' && c.status === 'RUNNING'));
  const followUp = { actor: { ...swd, assertedBy: 'SWD' }, month: 3, status: 'STABLE' as const };
  await protection.executeUpdate(followUpUpdate, { args: [followUp], ...id('urn:agency:swd', 'follow-up-3') });
  await until(async () => (await protection.describe()).runId !== protectionRun && (await protection.query(protectionStateQuery)).stage === 'FOLLOW_UP');
  await protection.executeUpdate(followUpUpdate, { args: [followUp], ...id('urn:agency:swd', 'follow-up-3') });
  return [handle.workflowId, justice.workflowId, protection.workflowId];
}

/**
 * After 'protection-partner-tasks-open': the protection track keeps PartnerTasksOpen (the partner
 * organisations with an open task). A plan with tasks for IOM and SSDO, then SSDO's task done (the
 * attribute shrinks to IOM in an upsert of its own). Stored open: IOM's task and clock still run.
 */
async function partnerTasksOpen(client: Client, taskQueue: string): Promise<string[]> {
  const referral = detected({ referralId: 'HIST-PARTNER-TASKS-1' });
  const fia: Actor = { actorId: 'fia-6', agency: 'FIA', role: 'OFFICER' };
  const swd: Actor = { actorId: 'swd-5', agency: 'SWD', role: 'OFFICER' };
  const ssdo: Actor = { actorId: 'ssdo-1', agency: 'PARTNER', role: 'PARTNER', organisation: 'SSDO' };
  await startReferral({ client, taskQueue, policy: shippedPolicy() }, referral, { eventId: `detected-${referral.referralId}`, source: 'urn:test' });
  const handle = client.workflow.getHandle(`referral-${referral.referralId}`);
  await untilStage(handle, 'SCREENING');
  await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: fia }] });
  await handle.executeUpdate(completeScreeningUpdate, {
    args: [{ actor: fia, outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: false, consent: 'GIVEN' }],
  });
  const protection = client.workflow.getHandle(protectionWorkflowId(referral.referralId));
  await until(async () => (await protection.query(protectionStateQuery)).stage === 'PLANNING');
  await protection.executeUpdate(reintegrationPlanUpdate, {
    args: [
      {
        actor: swd,
        partner: 'IOM',
        tasks: [
          { taskId: 'shelter-1', kind: 'SHELTER', partner: 'SSDO' },
          { taskId: 'liv-1', kind: 'LIVELIHOOD', partner: 'IOM' },
        ],
      },
    ],
  });
  await protection.executeUpdate(completeTaskUpdate, { args: [{ actor: ssdo, taskId: 'shelter-1', outcome: 'DONE' }] });
  await until(async () => (await protection.describe()).typedSearchAttributes.get(PartnerTasksOpenKey)?.join(',') === 'IOM');
  return [handle.workflowId, protection.workflowId];
}

async function untilStage(handle: { query: (q: typeof referralStateQuery) => Promise<{ stage: string }> }, stage: string) {
  for (let i = 0; i < 200; i++) {
    if ((await handle.query(referralStateQuery)).stage === stage) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`stage ${stage} not reached`);
}

export const scenarios: Scenario[] = [
  {
    name: 'v1-skeleton-routed-closed',
    async run(client, taskQueue) {
      const referral = detected({ referralId: 'HIST-SKELETON-1' });
      const handle = await client.workflow.start('referralWorkflow', {
        workflowId: `referral-${referral.referralId}`,
        taskQueue,
        args: [workflowInput(referral)],
      });
      await untilStage(handle, 'ROUTED');
      await handle.executeUpdate(closeReferralUpdate, { args: [{ actor: 'officer-7', agency: 'FIA', reason: 'merged into another referral' }] });
      await handle.result();
      return [handle.workflowId];
    },
  },
  {
    name: 'v1-skeleton-unrouted-open',
    async run(client, taskQueue) {
      const referral = detected({ referralId: 'HIST-SKELETON-2', facts: { caseType: 'UNKNOWN' } });
      const handle = await client.workflow.start('referralWorkflow', {
        workflowId: `referral-${referral.referralId}`,
        taskQueue,
        args: [workflowInput(referral)],
      });
      await untilStage(handle, 'UNROUTED');
      return [handle.workflowId];
    },
  },
  {
    // Lifecycle v2, mid-flight (tracksOpen): started without search attributes.
    name: 'v2-trafficking-tracks-open',
    run: (client, taskQueue, skip) => tracksOpen(client, taskQueue, skip, 'HIST-LIFECYCLE-1', false),
  },
  {
    // After 'referral-attributes-once-per-task' and 'justice-summary-on-change': attributes written
    // once per task, the track signalling only changes; started as the intake bridge starts it.
    name: 'v2-per-task-attributes-tracks-open',
    run: (client, taskQueue, skip) => tracksOpen(client, taskQueue, skip, 'HIST-PER-TASK-1', true),
  },
  {
    // After 'referral-attributes-on-change': attributes and memo written only when they change.
    name: 'v2-attributes-on-change-unrouted-then-screening',
    async run(client, taskQueue, skip) {
      const referral = detected({ referralId: 'HIST-ATTRS-1', facts: { caseType: 'UNKNOWN' } });
      const handle = await client.workflow.start('referralWorkflow', {
        workflowId: `referral-${referral.referralId}`,
        taskQueue,
        args: [workflowInput(referral)],
      });
      await untilStage(handle, 'UNROUTED');
      const committee: Actor = { actorId: 'ahtc-chair', agency: 'AHTC-D', role: 'SUPERVISOR', jurisdiction: { province: 'PUNJAB', district: 'LAHORE' } };
      await handle.executeUpdate(reclassifyUpdate, { args: [{ actor: committee, caseType: 'FRAUDULENT_JOB_AD', reason: 'online advertisement' }] });
      await untilStage(handle, 'SCREENING');
      await skip(30 * 3_600_000); // the acknowledgement breaches and escalates
      return [handle.workflowId];
    },
  },
  {
    name: 'v3-action-ids-carried-tracks-continued',
    run: actionIdsCarried,
  },
  {
    name: 'v4-partner-tasks-open-one-partner-done',
    run: partnerTasksOpen,
  },
  {
    // After 'referral-parties-by-jurisdiction': Parties names the committees of the referral's
    // own district and province. Gwadar's district committee classifies an unrouted case; the
    // acknowledgement then breaches up to the provincial committee.
    name: 'v5-parties-by-jurisdiction-reclassified-escalated',
    async run(client, taskQueue, skip) {
      const referral = detected({ referralId: 'HIST-JURISDICTION-1', facts: { caseType: 'UNKNOWN', location: { province: 'BALOCHISTAN', district: 'Gwadar' } } });
      const handle = await client.workflow.start('referralWorkflow', {
        workflowId: `referral-${referral.referralId}`,
        taskQueue,
        args: [workflowInput(referral)],
      });
      await untilStage(handle, 'UNROUTED');
      const gwadar: Actor = { actorId: 'ahtc-d-gwadar-1', agency: 'AHTC-D', role: 'SUPERVISOR', jurisdiction: { province: 'BALOCHISTAN', district: 'GWADAR' } };
      await handle.executeUpdate(reclassifyUpdate, { args: [{ actor: gwadar, caseType: 'SMUGGLING', reason: 'irregular crossing arranged for payment' }] });
      await untilStage(handle, 'SCREENING');
      await skip(50 * 3_600_000);
      return [handle.workflowId];
    },
  },
  {
    // After 'authority-from-policy': the policy's authority table decides; the investigation
    // report's clock extended to its cap by the lead's supervisor, then beyond it by Lahore's
    // district committee (counted and recorded); the protection plan agreed. Stored open.
    name: 'v6-authority-extensions-beyond-cap',
    async run(client, taskQueue, skip) {
      const referral = detected({ referralId: 'HIST-AUTHORITY-1' });
      const handle = await client.workflow.start('referralWorkflow', { workflowId: `referral-${referral.referralId}`, taskQueue, args: [workflowInput(referral)] });
      await untilStage(handle, 'SCREENING');
      const fia: Actor = { actorId: 'fia-7', agency: 'FIA', role: 'OFFICER' };
      const fiaSupervisor: Actor = { ...fia, actorId: 'fia-sup-7', role: 'SUPERVISOR' };
      const lahore: Actor = { actorId: 'ahtc-d-lahore-1', agency: 'AHTC-D', role: 'SUPERVISOR', jurisdiction: { province: 'PUNJAB', district: 'LAHORE' } };
      await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: fia }] });
      await handle.executeUpdate(completeScreeningUpdate, { args: [{ actor: fia, outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: false, consent: 'GIVEN' }] });
      const justice = client.workflow.getHandle(justiceWorkflowId(referral.referralId));
      const protection = client.workflow.getHandle(protectionWorkflowId(referral.referralId));
      await until(async () => (await justice.query(justiceStateQuery)).stage === 'REGISTRATION');
      await justice.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED', caseNumber: 'FIR-61/2026' }] });
      for (const [actor, days, reason] of [
        [fiaSupervisor, 3, 'forensic report awaited'],
        [fiaSupervisor, 2, 'witness statement abroad'],
        [lahore, 5, 'the committee grants more time: mutual legal assistance pending'],
      ] as const) {
        await justice.executeUpdate(extendDeadlineUpdate, { args: [{ actor, step: 'investigationReport', by: { days }, reason }] });
      }
      await until(async () => (await protection.query(protectionStateQuery)).stage === 'PLANNING');
      await protection.executeUpdate(reintegrationPlanUpdate, { args: [{ actor: { actorId: 'swd-7', agency: 'SWD', role: 'OFFICER' }, partner: 'IOM', tasks: [{ taskId: 'psy-1', kind: 'PSYCHOSOCIAL', partner: 'IOM' }] }] });
      await skip(3 * 86_400_000);
      return [handle.workflowId, justice.workflowId, protection.workflowId];
    },
  },
];

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if (await check()) return;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached');
}
