/**
 * The authority matrix (issue 11): every identity (agency × jurisdiction × role, and partners) ×
 * every action, over HTTP (the API's routes, app.inject) to real workflows on the time-skipping
 * server, allowed exactly as config/policy.json's authority table says and refused (403)
 * otherwise; and the read endpoint GET /referrals/:id by the party rule. Prints the counts.
 *
 * A cell is probed with a valid body at a state where the action has nothing left to do (a
 * clock step that is not running, a stage already past), so an allowed actor passes the
 * authority check and is stopped by the state (409) or applies a harmless action (200); a
 * refused one is stopped first (403). The expected value is computed here from the policy file
 * and the scenario's routing, not by the engine's code. A withdrawal that is allowed ends its
 * referral: the next cell gets a fresh one.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../api/auth.js';
import { ReferralService } from '../../api/referral-service.js';
import { buildApi, type ApiApp } from '../../api/server.js';
import type { Identity } from '../../config/identities.js';
import { extendDeadlineUpdate, justiceStateQuery, justiceWorkflowId, referralStateQuery, registerCaseUpdate } from '../../workflows/messages.js';
import type { Actor } from '../../workflows/actions.js';
import type { ReferralDetectedV1 } from '../../schemas/intake.js';
import { committeeIn, expected, fjaScenario, label, openMatrixFixtures, openReferral, people, probes, screenedReferral, table, tipScenario, type Scenario, type Who } from '../support/authority-cells.js';
import { detected, shippedPolicy, workflowInput } from '../support/fixtures.js';
import { startWorkflowHarness, waitFor, type WorkflowHarness } from '../support/workflow-harness.js';

const identities: Identity[] = people.map((p) => ({ ...p, keySha256: sha256Hex(`key-${p.id}`) }));

const fia: Actor = { actorId: 'fia-fixture', agency: 'FIA', role: 'OFFICER' };

describe('authority matrix over HTTP (time-skipping workflows)', { timeout: 600_000 }, () => {
  let h: WorkflowHarness;
  let app: ApiApp;
  beforeAll(async () => {
    h = await startWorkflowHarness('authority-matrix');
    const service = new ReferralService(h.env.client, { client: h.env.client, taskQueue: h.taskQueue, policy: shippedPolicy() }, { url: 'http://ui', namespace: 'default' });
    app = await buildApi({ service, auth: { identities }, logger: pino({ level: 'silent' }), rateLimitPerMinute: 1_000_000, authority: shippedPolicy().authority! });
  });
  afterAll(async () => {
    await app?.close();
    await h?.stop();
  });

  const startReferral = (referral: ReferralDetectedV1) => openReferral(h.env.client, h.taskQueue, referral);
  const screened = (referral: ReferralDetectedV1, victimIdentified: boolean) => screenedReferral(h.env.client, h.taskQueue, referral, victimIdentified);

  const call = (who: Who, referralId: string, action: string, body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/referrals/${referralId}/actions/${action}`, headers: { authorization: `Bearer key-${who.id}` }, payload: body });

  it('allows every cell the policy table allows, refuses every other, and reads by the party rule', async () => {
    const { tip, fja, referralOf, renewWithdrawable } = await openMatrixFixtures(h.env.client, h.taskQueue);
    expect(Object.keys(probes).sort()).toEqual(Object.keys(table).sort());

    const counts = { allowed: 0, refused: 0 };
    const byRelation = new Map<string, { allowed: number; refused: number }>();
    const wrong: string[] = [];
    for (const [action, probe] of Object.entries(probes)) {
      for (const who of people) {
        const want = expected(who, probe.scenario, action);
        const res = await call(who, referralOf(probe.on), action, probe.body);
        const got = res.statusCode === 403 ? 'refused' : res.statusCode === 200 || res.statusCode === 409 ? 'allowed' : `status ${res.statusCode}`;
        if (got !== (want ? 'allowed' : 'refused')) wrong.push(`${action} by ${who.id} (${label(who, probe.scenario, action)}): expected ${want ? 'allowed' : 'refused'}, got ${got} ${res.body.slice(0, 300)}`);
        counts[want ? 'allowed' : 'refused'] += 1;
        const key = `${label(who, probe.scenario, action)} ${who.role}`;
        const row = byRelation.get(key) ?? { allowed: 0, refused: 0 };
        row[want ? 'allowed' : 'refused'] += 1;
        byRelation.set(key, row);
        if (action === 'withdraw' && res.statusCode === 200) await renewWithdrawable();
      }
    }

    // Reads: a party (a committee of the referral's jurisdiction), an operator or an admin sees the referral; anyone else gets 404.
    const reads = { allowed: 0, refused: 0 };
    const readScenarios: Array<[string, Scenario]> = [
      [tip.referralId, tipScenario],
      [fja.referralId, { ...fjaScenario, parties: ['NCCIA', 'PTA', 'PKCERT', 'BEOE', 'MOPHRD'] }],
    ];
    for (const [referralId, scenario] of readScenarios) {
      for (const who of people) {
        const want = who.role === 'operator' || who.role === 'admin' || scenario.parties.includes(who.agency) || (who.agency.startsWith('AHTC-') && committeeIn(who));
        const res = await app.inject({ method: 'GET', url: `/referrals/${referralId}`, headers: { authorization: `Bearer key-${who.id}` } });
        if (res.statusCode !== (want ? 200 : 404)) wrong.push(`GET /referrals/${referralId} by ${who.id}: expected ${want ? 200 : 404}, got ${res.statusCode}`);
        reads[want ? 'allowed' : 'refused'] += 1;
      }
    }

    console.log(
      [
        `authority matrix over HTTP: ${counts.allowed + counts.refused} action cells (${Object.keys(probes).length} actions x ${people.length} identities): ${counts.allowed} allowed, ${counts.refused} refused`,
        `read GET /referrals/:id: ${reads.allowed + reads.refused} cells: ${reads.allowed} allowed, ${reads.refused} refused (404)`,
        ...[...byRelation.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k}: ${v.allowed} allowed, ${v.refused} refused`),
      ].join('\n'),
    );
    expect(wrong).toEqual([]);
    expect(counts.allowed).toBeGreaterThan(50);

    // /docs says the same rules for every action.
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, { post?: { description?: string } }> };
    expect(doc.paths['/referrals/{referralId}/actions/withdraw']?.post?.description).toBe(
      "Who may (policy authority table): the lead agency: SUPERVISOR; a committee of the referral's jurisdiction: SUPERVISOR; an operator: OPERATOR or ADMIN. Anyone else: 403 FORBIDDEN.",
    );
    expect(doc.paths['/referrals/{referralId}/actions/extend-deadline']?.post?.description).toMatch(/at most 2 times adding 10 working days in all .*beyond that only a committee of the referral's jurisdiction: SUPERVISOR/);
    for (const action of Object.keys(table)) expect(doc.paths[`/referrals/{referralId}/actions/${action}`]?.post?.description, action).toMatch(/^Who may \(policy authority table\)/);
  });

  it("caps a step's extensions by count and working days; beyond the cap only the committee of the jurisdiction extends, and the reason is recorded", async () => {
    const tip = detected({ referralId: `MX-CAP-${Date.now()}` });
    await screened(tip, false);
    const justice = h.env.client.workflow.getHandle(justiceWorkflowId(tip.referralId));
    await waitFor(async () => (await justice.query(justiceStateQuery).catch(() => undefined))?.stage === 'REGISTRATION');
    await justice.executeUpdate(registerCaseUpdate, { args: [{ actor: fia, decision: 'REGISTERED', caseNumber: 'FIR-7/2026' }] });
    const extend = (who: string, by: { days: number }, reason: string) =>
      app.inject({ method: 'POST', url: `/referrals/${tip.referralId}/actions/extend-deadline`, headers: { authorization: `Bearer key-${who}` }, payload: { track: 'justice', step: 'investigationReport', by, reason } });
    const statuses: Array<[string, number]> = [];
    const tryExtend = async (who: string, by: { days: number }, reason: string) => {
      const res = await extend(who, by, reason);
      statuses.push([`${who} +${by.days}d`, res.statusCode]);
      return res;
    };
    // investigationReport: at most 2 extensions adding 10 working days (config/policy.json).
    await tryExtend('fia-supervisor', { days: 3 }, 'forensic report awaited');
    // One that would add more than the working days left is beyond the cap: refused to the lead.
    const tooLong = await tryExtend('fia-supervisor', { days: 20 }, 'witness abroad');
    expect(tooLong.json().error.message).toMatch(/^by: investigationReport has had 1 extension\(s\).*only committee SUPERVISOR/);
    await tryExtend('moi-operator', { days: 3 }, 'second extension');
    // The third is beyond the count: the lead's supervisor and operators are refused, the committees of other territories too.
    await tryExtend('fia-supervisor', { days: 1 }, 'third');
    await tryExtend('moi-operator', { days: 1 }, 'third');
    await tryExtend('dc-gwadar-supervisor', { days: 1 }, 'not ours');
    await tryExtend('dc-lahore-officer', { days: 1 }, 'an officer');
    // Lahore's district committee may, and it is recorded as beyond the cap.
    await tryExtend('dc-lahore-supervisor', { days: 5 }, 'the committee grants more time: mutual legal assistance pending');
    await tryExtend('pc-punjab-supervisor', { days: 2 }, 'the provincial committee too');
    expect(statuses).toEqual([
      ['fia-supervisor +3d', 200],
      ['fia-supervisor +20d', 403],
      ['moi-operator +3d', 200],
      ['fia-supervisor +1d', 403],
      ['moi-operator +1d', 403],
      ['dc-gwadar-supervisor +1d', 403],
      ['dc-lahore-officer +1d', 403],
      ['dc-lahore-supervisor +5d', 200],
      ['pc-punjab-supervisor +2d', 200],
    ]);
    const state = await justice.query(justiceStateQuery);
    const entries = state.timeline.filter((e) => e.action === 'DEADLINE_EXTENDED');
    expect(entries.map((e) => [e.actor, e.agency, e.reason, e.details?.['extension'], e.details?.['beyondCap']])).toEqual([
      ['fia-supervisor', 'FIA', 'forensic report awaited', 1, false],
      ['moi-operator', 'MOI', 'second extension', 2, false],
      ['dc-lahore-supervisor', 'AHTC-D', 'the committee grants more time: mutual legal assistance pending', 3, true],
      ['pc-punjab-supervisor', 'AHTC-P', 'the provincial committee too', 4, true],
    ]);
    expect(state.sla.find((c) => c.step === 'investigationReport')).toMatchObject({ extensions: 4, extendedWorkingDays: expect.any(Number) });
  });

  it('keeps the old rules for a referral started with a policy that has no authority table', async () => {
    const { authority: _table, ...oldPolicy } = shippedPolicy();
    const referral = detected({ referralId: `MX-OLD-${Date.now()}` });
    const handle = await h.env.client.workflow.start('referralWorkflow', { workflowId: `referral-${referral.referralId}`, taskQueue: h.taskQueue, args: [workflowInput(referral, oldPolicy)] });
    await waitFor(async () => (await handle.query(referralStateQuery)).stage === 'SCREENING');
    // Before the table any party's supervisor moved a clock (here SWD, a supporting agency), unbounded.
    const swdSupervisor: Actor = { actorId: 'swd-sup', agency: 'SWD', role: 'SUPERVISOR' };
    for (let i = 0; i < 4; i++) {
      await handle.executeUpdate(extendDeadlineUpdate, { args: [{ actor: swdSupervisor, step: 'screening', by: { days: 10 }, reason: `extension ${i + 1}` }] });
    }
    const clock = (await handle.query(referralStateQuery)).sla?.find((c) => c.step === 'screening');
    expect(clock).toMatchObject({ extensions: 4 });
    // The same under the shipped policy's table is refused.
    const current = await startReferral(detected({ referralId: `MX-NEW-${Date.now()}` }));
    await expect(current.executeUpdate(extendDeadlineUpdate, { args: [{ actor: swdSupervisor, step: 'screening', by: { days: 1 }, reason: 'x' }] })).rejects.toMatchObject({
      cause: { type: 'Forbidden' },
    });
  });
});
