/**
 * The cells of the authority matrix (test/workflow/authority-matrix.test.ts over HTTP,
 * test/integration/authority-kafka.test.ts over Kafka): the identities, what the test knows of
 * each scenario, and what config/policy.json's authority table says of each cell, computed here
 * from the file, not by the engine's code.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { ApiRole } from '../../config/identities.js';
import type { ReferralDetectedV1 } from '../../schemas/intake.js';
import type { Actor } from '../../workflows/actions.js';
import {
  acknowledgeUpdate,
  completeScreeningUpdate,
  justiceStateQuery,
  justiceWorkflowId,
  protectionStateQuery,
  protectionWorkflowId,
  referralStateQuery,
  registerCaseUpdate,
  reintegrationPlanUpdate,
} from '../../workflows/messages.js';
import { detected, uniqueId, workflowInput } from './fixtures.js';
import { repoRoot } from './stack-paths.js';

export interface Grant {
  relation?: string;
  agency?: string;
  roles: string[];
}
const policyFile = JSON.parse(readFileSync(`${repoRoot}config/policy.json`, 'utf8')) as { authority: { actions: Record<string, Grant[]> } };
export const table = policyFile.authority.actions;

type J = { province: 'PUNJAB' | 'BALOCHISTAN' | 'SINDH'; district?: string };
export const bodies: Array<{ code: string; agency: string; jurisdiction?: J }> = [
  { code: 'fia', agency: 'FIA' },
  { code: 'nccia', agency: 'NCCIA' },
  { code: 'swd', agency: 'SWD' },
  { code: 'moi', agency: 'MOI' },
  { code: 'mophrd', agency: 'MOPHRD' },
  { code: 'pta', agency: 'PTA' },
  { code: 'beoe', agency: 'BEOE' },
  { code: 'prosecution', agency: 'PROSECUTION' },
  { code: 'police', agency: 'POLICE' },
  { code: 'dc-lahore', agency: 'AHTC-D', jurisdiction: { province: 'PUNJAB', district: 'LAHORE' } },
  { code: 'dc-gwadar', agency: 'AHTC-D', jurisdiction: { province: 'BALOCHISTAN', district: 'GWADAR' } },
  { code: 'pc-punjab', agency: 'AHTC-P', jurisdiction: { province: 'PUNJAB' } },
  { code: 'pc-sindh', agency: 'AHTC-P', jurisdiction: { province: 'SINDH' } },
  { code: 'nc', agency: 'AHTC-N' },
];
export const ROLES: ApiRole[] = ['officer', 'supervisor', 'operator', 'admin'];
export interface Who {
  id: string;
  agency: string;
  role: ApiRole;
  organisation?: string;
  jurisdiction?: J;
}
export const people: Who[] = [
  ...bodies.flatMap((b) => ROLES.map((role): Who => ({ id: `${b.code}-${role}`, agency: b.agency, role, ...(b.jurisdiction ? { jurisdiction: b.jurisdiction } : {}) }))),
  { id: 'iom-partner', agency: 'PARTNER', role: 'partner', organisation: 'IOM' },
  { id: 'ssdo-partner', agency: 'PARTNER', role: 'partner', organisation: 'SSDO' },
];

/** What the test knows of a workflow it probes: its routing, its parties, the partner an action concerns. */
export interface Scenario {
  lead: string;
  supporting: string[];
  informed: string[];
  /** Agencies (and committee entries) that are parties, besides the committees of Lahore, Punjab and the nation. */
  parties: string[];
  partnerOf?: (action: string) => string[];
}

export function committeeIn(w: Who): boolean {
  if (w.agency === 'AHTC-N') return true;
  if (w.agency === 'AHTC-D') return w.jurisdiction?.province === 'PUNJAB' && w.jurisdiction.district === 'LAHORE';
  if (w.agency === 'AHTC-P') return w.jurisdiction?.province === 'PUNJAB' && w.jurisdiction.district === undefined;
  return false;
}

export function relations(w: Who, s: Scenario, action: string): string[] {
  const out: string[] = [];
  if (w.agency === s.lead) out.push('lead');
  if (s.supporting.includes(w.agency)) out.push('supporting');
  if (s.informed.includes(w.agency)) out.push('informed');
  if (w.agency.startsWith('AHTC-') && committeeIn(w)) out.push('committee');
  if (w.role === 'operator' || w.role === 'admin') out.push('operator');
  if (w.organisation && (s.partnerOf?.(action) ?? []).includes(w.organisation)) out.push('partner');
  return out;
}

export function expected(w: Who, s: Scenario, action: string): boolean {
  const rel = relations(w, s, action);
  const party = s.parties.includes(w.agency) || (w.agency.startsWith('AHTC-') && committeeIn(w));
  if (!party && !rel.includes('operator')) return false;
  const role = w.role.toUpperCase();
  return (table[action] ?? []).some((g) => (g.relation ? rel.includes(g.relation) : g.agency === w.agency) && g.roles.includes(role));
}

/** The relation of a cell, for the printed summary. */
export function label(w: Who, s: Scenario, action: string): string {
  const rel = relations(w, s, action).filter((r) => r !== 'operator');
  if (w.agency.startsWith('AHTC-') && !committeeIn(w)) return 'committee (other jurisdiction)';
  if (w.agency === 'PARTNER') return rel.includes('partner') ? 'partner' : 'partner (not concerned)';
  if (rel.length > 0) return rel.join('+');
  return s.parties.includes(w.agency) ? `named agency ${w.agency}` : 'not a party';
}


/** TIP in Lahore: routed to FIA (SWD supporting, MOI informed). */
export const tipScenario: Scenario = { lead: 'FIA', supporting: ['SWD'], informed: ['MOI'], parties: ['FIA', 'SWD', 'MOI'] };
/** Its protection track: partner organisations are parties; IOM has the plan's tasks. */
export const protectionScenario: Scenario = {
  ...tipScenario,
  parties: ['FIA', 'SWD', 'MOI', 'PARTNER'],
  partnerOf: (action) => (action === 'complete-task' || action === 'follow-up' ? ['IOM'] : []),
};
/** FJA in Lahore: routed to NCCIA (PTA, PKCERT, BEOE supporting, MOPHRD informed); its justice track has PROSECUTION too. */
export const fjaScenario: Scenario = { lead: 'NCCIA', supporting: ['PTA', 'PKCERT', 'BEOE'], informed: ['MOPHRD'], parties: ['NCCIA', 'PTA', 'PKCERT', 'BEOE', 'MOPHRD', 'PROSECUTION'] };

/** Which fixture a cell is probed on: the TIP referral (and its protection track), the FJA referral's justice track, or a referral to withdraw. */
export type ProbeTarget = 'tip' | 'fja' | 'withdrawable';

const nothingToDo = { step: 'notRunning', reason: 'matrix probe' };

/**
 * Every action: where it is probed and a valid body that has nothing left to do there (the TIP
 * referral acknowledged and screened, its protection plan agreed with tasks t1 and t2 for IOM;
 * the FJA referral registered), so an allowed actor passes the authority check and is stopped by
 * the state, or applies a harmless action; a withdrawal that is allowed ends its referral.
 */
export const probes: Record<string, { on: ProbeTarget; scenario: Scenario; body: Record<string, unknown> }> = {
  acknowledge: { on: 'tip', scenario: tipScenario, body: {} },
  'complete-screening': { on: 'tip', scenario: tipScenario, body: { outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: false, consent: 'GIVEN' } },
  reclassify: { on: 'tip', scenario: tipScenario, body: { caseType: 'TRAFFICKING', reason: 'matrix probe' } },
  withdraw: { on: 'withdrawable', scenario: tipScenario, body: { reason: 'matrix probe' } },
  'extend-deadline': { on: 'tip', scenario: tipScenario, body: { ...nothingToDo, track: 'referral', by: { days: 1 } } },
  'reassign-step': { on: 'tip', scenario: tipScenario, body: { ...nothingToDo, track: 'referral', assignee: 'officer-2' } },
  'register-case': { on: 'fja', scenario: fjaScenario, body: { decision: 'REGISTERED', caseNumber: 'FIR-2/2026' } },
  'investigation-report': { on: 'fja', scenario: fjaScenario, body: { kind: 'INTERIM' } },
  'charge-decision': { on: 'fja', scenario: fjaScenario, body: { decision: 'CHARGED' } },
  'trial-update': { on: 'fja', scenario: fjaScenario, body: { note: 'matrix probe' } },
  verdict: { on: 'fja', scenario: fjaScenario, body: { verdict: 'CONVICTED' } },
  appeal: { on: 'fja', scenario: fjaScenario, body: { by: 'PROSECUTION' } },
  'content-block': { on: 'fja', scenario: fjaScenario, body: { result: 'BLOCKED' } },
  'licence-check': { on: 'fja', scenario: fjaScenario, body: { result: 'LICENSED' } },
  'protection-placement': { on: 'tip', scenario: protectionScenario, body: { placement: 'SHELTER' } },
  'reintegration-plan': { on: 'tip', scenario: protectionScenario, body: { partner: 'IOM', tasks: [{ taskId: 't9', kind: 'EDUCATION', partner: 'IOM' }] } },
  'complete-task': { on: 'tip', scenario: protectionScenario, body: { taskId: 't1', outcome: 'DONE' } },
  'follow-up': { on: 'tip', scenario: protectionScenario, body: { month: 3, status: 'STABLE' } },
};

const fixtureFia: Actor = { actorId: 'fia-fixture', agency: 'FIA', role: 'OFFICER' };
const fixtureNccia: Actor = { actorId: 'nccia-fixture', agency: 'NCCIA', role: 'OFFICER' };
const fixtureSwd: Actor = { actorId: 'swd-fixture', agency: 'SWD', role: 'OFFICER' };

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached in time`);
}

/** A referral started and waiting at screening. */
export async function openReferral(client: Client, taskQueue: string, referral: ReferralDetectedV1) {
  const handle = await client.workflow.start('referralWorkflow', { workflowId: `referral-${referral.referralId}`, taskQueue, args: [workflowInput(referral)] });
  await until(async () => (await handle.query(referralStateQuery)).stage === 'SCREENING', `${referral.referralId} at screening`);
  return handle;
}

/** A referral acknowledged and screened by its lead FIA, its tracks started. */
export async function screenedReferral(client: Client, taskQueue: string, referral: ReferralDetectedV1, victimIdentified: boolean) {
  const handle = await openReferral(client, taskQueue, referral);
  await handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: fixtureFia }] });
  await handle.executeUpdate(completeScreeningUpdate, { args: [{ actor: fixtureFia, outcome: 'CONFIRMED', victimIdentified, victimAtRisk: false, consent: 'GIVEN' }] });
  return handle;
}

/**
 * The matrix's fixtures (see probes): the TIP referral screened, its protection plan agreed with
 * tasks t1 and t2 for IOM; the FJA referral screened and its case registered; a referral to withdraw.
 */
export async function openMatrixFixtures(client: Client, taskQueue: string) {
  const tip = detected({ referralId: uniqueId('MX-TIP') });
  await screenedReferral(client, taskQueue, tip, true);
  const protection = client.workflow.getHandle(protectionWorkflowId(tip.referralId));
  await until(async () => (await protection.query(protectionStateQuery)).stage === 'PLANNING', 'protection planning');
  await protection.executeUpdate(reintegrationPlanUpdate, {
    args: [{ actor: fixtureSwd, partner: 'IOM', tasks: [{ taskId: 't1', kind: 'SHELTER', partner: 'IOM' }, { taskId: 't2', kind: 'MEDICAL', partner: 'IOM' }] }],
  });
  const fja = detected({ referralId: uniqueId('MX-FJA'), sourceAgency: 'NCCIA', facts: { caseType: 'FRAUDULENT_JOB_AD' } });
  const fjaHandle = await openReferral(client, taskQueue, fja);
  await fjaHandle.executeUpdate(completeScreeningUpdate, { args: [{ actor: fixtureNccia, outcome: 'CONFIRMED', victimIdentified: false, victimAtRisk: false, consent: 'NOT_REQUIRED' }] });
  const justice = client.workflow.getHandle(justiceWorkflowId(fja.referralId));
  await until(async () => (await justice.query(justiceStateQuery)).stage === 'REGISTRATION', 'justice registration');
  await justice.executeUpdate(registerCaseUpdate, { args: [{ actor: fixtureNccia, decision: 'REGISTERED', caseNumber: 'FIR-1/2026' }] });
  const fresh = async () => (await openReferral(client, taskQueue, detected({ referralId: uniqueId('MX-WD') }))).workflowId.replace(/^referral-/, '');
  let withdrawable = await fresh();
  return {
    tip,
    fja,
    referralOf: (on: ProbeTarget) => (on === 'tip' ? tip.referralId : on === 'fja' ? fja.referralId : withdrawable),
    /** After an allowed withdrawal: the next cell gets a fresh referral. */
    async renewWithdrawable() {
      withdrawable = await fresh();
    },
  };
}
