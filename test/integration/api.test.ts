import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { ApiApp } from '../../api/server.js';
import type { ApiRole } from '../../config/identities.js';
import { protectionWorkflowId } from '../../workflows/ids.js';
import { detected, uniqueId } from '../support/fixtures.js';
import { startTestApi, startTestEngine, testIdentities, unusedTopics, type TestEngine } from '../support/engine-harness.js';
import { eventually } from '../support/kafka-harness.js';

const temporalAddress = inject('temporalAddress');
const taskQueue = uniqueId('api-queue');
const jwtSecret = new TextEncoder().encode('test-secret-test-secret-test-secret!');
const issuer = 'urn:test:issuer';

const people: Array<{ id: string; agency: string; role: ApiRole; organisation?: string }> = [
  { id: 'fia-officer', agency: 'FIA', role: 'officer' },
  { id: 'fia-supervisor', agency: 'FIA', role: 'supervisor' },
  { id: 'moi-officer', agency: 'MOI', role: 'officer' },
  { id: 'pta-officer', agency: 'PTA', role: 'officer' },
  { id: 'nccia-officer', agency: 'NCCIA', role: 'officer' },
  { id: 'operator', agency: 'MOI', role: 'operator' },
  { id: 'admin', agency: 'MOI', role: 'admin' },
  { id: 'swd-officer', agency: 'SWD', role: 'officer' },
  { id: 'iom', agency: 'PARTNER', role: 'partner', organisation: 'IOM' },
  { id: 'ssdo', agency: 'PARTNER', role: 'partner', organisation: 'SSDO' },
];
const { identities, auth } = testIdentities(people, 'test-key-');

describe('HTTP API with agency access control, on the real Temporal dev server', () => {
  let engine: TestEngine;
  let app: ApiApp;
  const logLines: string[] = [];

  beforeAll(async () => {
    engine = await startTestEngine({ temporalAddress, taskQueue, topics: unusedTopics, source: 'urn:test' });
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
    app = await startTestApi({ client: engine.client, taskQueue, auth: { identities, jwt: { hs256Secret: jwtSecret, issuer, audience: 'referral-engine' } }, logger });
  });

  afterAll(async () => {
    await app?.close();
    await engine?.stop();
  });

  async function submit(referral = detected()) {
    const res = await app.inject({ method: 'POST', url: '/referrals', headers: auth('fia-officer'), payload: referral });
    expect(res.statusCode, res.body).toBe(201);
    await eventually(
      async () => (await app.inject({ method: 'GET', url: `/referrals/${referral.referralId}`, headers: auth('operator') })).json().referral?.stage,
      (stage) => stage === 'SCREENING',
    );
    return referral;
  }

  it('refuses missing, unknown, forged and expired credentials with 401, and accepts a valid signed token (HS256, development switch on)', async () => {
    expect((await app.inject({ method: 'GET', url: '/referrals' })).statusCode).toBe(401);
    const unknown = await app.inject({ method: 'GET', url: '/referrals', headers: { authorization: 'Bearer nope' } });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().error).toMatchObject({ code: 'INVALID_CREDENTIALS', field: 'authorization' });
    const claims = { agency: 'FIA', role: 'officer' };
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuer(issuer).setAudience('referral-engine').setExpirationTime('5m').sign(new TextEncoder().encode('another-secret-another-secret-1234'));
    expect((await app.inject({ method: 'GET', url: '/referrals', headers: { authorization: `Bearer ${forged}` } })).statusCode).toBe(401);
    const expired = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuer(issuer).setAudience('referral-engine').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(jwtSecret);
    const expiredRes = await app.inject({ method: 'GET', url: '/referrals', headers: { authorization: `Bearer ${expired}` } });
    expect(expiredRes.statusCode).toBe(401);
    expect(expiredRes.json().error.code).toBe('TOKEN_EXPIRED');
    const valid = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('fia-jwt').setIssuer(issuer).setAudience('referral-engine').setExpirationTime('5m').sign(jwtSecret);
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: { authorization: `Bearer ${valid}` } })).json()).toMatchObject({ id: 'fia-jwt', agency: 'FIA', via: 'jwt' });
  });

  it('submits through the same path as Kafka: validated, deduplicated, attributed to the caller', async () => {
    const referral = detected();
    const bad = await app.inject({
      method: 'POST',
      url: '/referrals',
      headers: auth('fia-officer'),
      payload: { ...referral, facts: { ...referral.facts, location: { province: 'ATLANTIS', district: 'x' } } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.problems.map((p: { field: string }) => p.field)).toEqual(['body.facts.location.province', 'body.facts.location.district']);
    const first = await app.inject({ method: 'POST', url: '/referrals', headers: auth('fia-officer'), payload: referral });
    const second = await app.inject({ method: 'POST', url: '/referrals', headers: auth('fia-officer'), payload: referral });
    expect([first.statusCode, first.json().outcome, second.statusCode, second.json().outcome]).toEqual([201, 'started', 200, 'duplicate']);
    const other = await app.inject({ method: 'POST', url: '/referrals', headers: auth('pta-officer'), payload: detected() });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.message).toMatch(/^sourceAgency:/);
    const huge = await app.inject({ method: 'POST', url: '/referrals', headers: { ...auth('fia-officer'), 'content-type': 'application/json' }, payload: JSON.stringify({ pad: 'x'.repeat(300_000) }) });
    expect(huge.statusCode).toBe(413);
  });

  it('shows a referral to its parties only, and personal data only to the lead agency', async () => {
    const referral = await submit();
    const get = (who: string) => app.inject({ method: 'GET', url: `/referrals/${referral.referralId}`, headers: auth(who) });
    const lead = (await get('fia-officer')).json();
    expect(lead.persons[0].name).toBe(referral.persons[0]!.name);
    expect(lead.referral.sla.map((c: { step: string }) => c.step).sort()).toEqual(['acknowledge', 'screening']);
    const informed = await get('moi-officer');
    expect(informed.statusCode).toBe(200);
    expect(informed.json().persons).toBeUndefined();
    expect((await get('operator')).json().persons).toBeUndefined();
    // A non-party gets the very answer a referral that does not exist gets (no existence oracle); the denial is still recorded.
    const outsider = await get('pta-officer');
    expect(outsider.statusCode).toBe(404);
    expect(outsider.json()).toEqual({ error: { code: 'UNKNOWN_REFERRAL', message: `referralId: no referral ${referral.referralId}`, field: 'referralId' } });
    expect(logLines.some((l) => l.includes('access denied') && l.includes('pta-officer'))).toBe(true);
    expect((await get('iom')).statusCode).toBe(404);
    const missingId = `${referral.referralId.slice(0, -1)}${referral.referralId.endsWith('9') ? '8' : '9'}`;
    const missing = await app.inject({ method: 'GET', url: `/referrals/${missingId}`, headers: auth('pta-officer') });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toBe(outsider.body.replace(referral.referralId, missingId));

    // Lists: an agency sees what it is party to (visibility catches up within a moment).
    const ids = async (who: string) =>
      ((await app.inject({ method: 'GET', url: `/referrals?limit=1000`, headers: auth(who) })).json().referrals ?? []).map((r: { referralId: string }) => r.referralId);
    await eventually(() => ids('fia-officer'), (l: string[]) => l.includes(referral.referralId));
    expect(await ids('operator')).toContain(referral.referralId);
    expect(await ids('pta-officer')).not.toContain(referral.referralId);
    expect((await app.inject({ method: 'GET', url: '/referrals', headers: auth('iom') })).statusCode).toBe(403);
  });

  it('acts with the same updates and errors as Kafka: accepted, 403 for who, 409 for when, 400 for what', async () => {
    const referral = await submit();
    const act = (who: string, name: string, payload: object) =>
      app.inject({ method: 'POST', url: `/referrals/${referral.referralId}/actions/${name}`, headers: auth(who), payload });
    const denied = await act('nccia-officer', 'acknowledge', {});
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.message).toMatch(/not a party|is for FIA/);
    const ok = await act('fia-officer', 'acknowledge', { reason: 'seen' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().result.timeline.map((e: { action: string }) => e.action)).toContain('ACKNOWLEDGED');
    const again = await act('fia-officer', 'acknowledge', {});
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('INVALID_TRANSITION');
    const badBody = await act('fia-supervisor', 'extend-deadline', { step: 'screening', by: { weeks: 1 } });
    expect(badBody.statusCode).toBe(400);
    expect(badBody.json().error.problems.map((p: { field: string }) => p.field)).toEqual(expect.arrayContaining(['body.by', 'body.reason']));
    const extended = await act('fia-supervisor', 'extend-deadline', { step: 'screening', by: { hours: 12 }, reason: 'interpreter needed' });
    expect(extended.statusCode, extended.body).toBe(200);
    const detail = (await app.inject({ method: 'GET', url: `/referrals/${referral.referralId}`, headers: auth('fia-officer') })).json();
    expect(detail.referral.timeline.find((e: { action: string }) => e.action === 'DEADLINE_EXTENDED')).toMatchObject({ actor: 'fia-supervisor', agency: 'FIA', reason: 'interpreter needed' });
    expect((await act('fia-officer', 'register-case', { decision: 'REGISTERED' })).statusCode).toBe(404);
  });

  it('lists a partner\'s tasks with one visibility list and a query to each listed track only: referrals where it has a task open, until it completes the last', async () => {
    const act = (who: string, referralId: string, name: string, payload: object) =>
      app.inject({ method: 'POST', url: `/referrals/${referralId}/actions/${name}`, headers: auth(who), payload });
    const [shared, ssdoOnly, unplanned] = [await submit(), await submit(), await submit()];
    for (const { referralId } of [shared, ssdoOnly, unplanned]) {
      expect((await act('fia-officer', referralId, 'acknowledge', {})).statusCode).toBe(200);
      const screened = await act('fia-officer', referralId, 'complete-screening', { outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: false, consent: 'GIVEN' });
      expect(screened.statusCode, screened.body).toBe(200);
    }
    const plan = (referralId: string, tasks: Array<{ taskId: string; kind: string; partner: string }>) =>
      eventually(
        () => act('swd-officer', referralId, 'reintegration-plan', { partner: tasks[0]!.partner, tasks }),
        (res) => res.statusCode !== 404,
        30_000,
        `protection track of ${referralId} started`,
      );
    expect((await plan(shared.referralId, [{ taskId: 'T1', kind: 'SHELTER', partner: 'IOM' }, { taskId: 'T2', kind: 'MEDICAL', partner: 'SSDO' }])).statusCode).toBe(200);
    expect((await plan(ssdoOnly.referralId, [{ taskId: 'S1', kind: 'LEGAL_AID', partner: 'SSDO' }])).statusCode).toBe(200);

    type Task = { referralId: string; taskId: string; partner: string; status: string; stage: string; kind: string; dueBy: string };
    const tasksOf = async (who: string) => {
      const res = await app.inject({ method: 'GET', url: '/partner/tasks', headers: auth(who) });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { organisation: string; tasks: Task[] };
    };
    const mine = (list: Task[]) => list.filter((t) => [shared, ssdoOnly, unplanned].some((r) => r.referralId === t.referralId));
    await eventually(async () => mine((await tasksOf('ssdo')).tasks), (l) => l.length === 2, 30_000, 'SSDO tasks listed');
    const iom = await eventually(async () => await tasksOf('iom'), (b) => mine(b.tasks).length === 1, 30_000, 'IOM task listed');
    expect(iom.organisation).toBe('IOM');
    expect(mine(iom.tasks)).toEqual([{ referralId: shared.referralId, stage: 'TASKS', taskId: 'T1', kind: 'SHELTER', partner: 'IOM', status: 'OPEN', dueBy: expect.any(String) }]);

    // One list call, and queries to the protection tracks it returned: not to the track without
    // an IOM task, not to the one without a plan, not to any referral workflow.
    const list = vi.spyOn(engine.client.workflowService, 'listWorkflowExecutions');
    const handles = vi.spyOn(engine.client.workflow, 'getHandle');
    try {
      await tasksOf('iom');
      expect(list).toHaveBeenCalledTimes(1);
      expect(list.mock.calls[0]![0].query).toBe(`WorkflowType = 'protectionWorkflow' AND ExecutionStatus = 'Running' AND PartnerTasksOpen = 'IOM' AND TaskQueue = '${taskQueue}'`);
      const queried = handles.mock.calls.map(([id]) => id);
      expect(queried).toContain(protectionWorkflowId(shared.referralId));
      expect(queried).not.toContain(protectionWorkflowId(ssdoOnly.referralId));
      expect(queried).not.toContain(protectionWorkflowId(unplanned.referralId));
      expect(queried.every((id) => id.endsWith('-protection'))).toBe(true);
    } finally {
      list.mockRestore();
      handles.mockRestore();
    }

    // The organisation is the caller's: there is no way to ask for another's.
    expect(mine((await app.inject({ method: 'GET', url: '/partner/tasks?organisation=SSDO', headers: auth('iom') })).json().tasks)).toHaveLength(1);

    // IOM completes its only task: the referral leaves IOM's list (and its visibility row), SSDO keeps it.
    expect((await act('iom', shared.referralId, 'complete-task', { taskId: 'T1', outcome: 'DONE' })).statusCode).toBe(200);
    expect(mine((await tasksOf('iom')).tasks)).toEqual([]);
    const visible = async (org: string) => {
      const ids: string[] = [];
      for await (const wf of engine.client.workflow.list({ query: `WorkflowType = 'protectionWorkflow' AND PartnerTasksOpen = '${org}'` })) ids.push(wf.workflowId);
      return ids;
    };
    await eventually(() => visible('IOM'), (ids) => !ids.includes(protectionWorkflowId(shared.referralId)), 30_000, 'IOM gone from the attribute');
    expect(await visible('SSDO')).toEqual(expect.arrayContaining([protectionWorkflowId(shared.referralId), protectionWorkflowId(ssdoOnly.referralId)]));
    const ssdo = mine((await tasksOf('ssdo')).tasks);
    expect(ssdo.map((t) => [t.referralId, t.taskId, t.status]).sort()).toEqual(
      [
        [shared.referralId, 'T2', 'OPEN'],
        [ssdoOnly.referralId, 'S1', 'OPEN'],
      ].sort(),
    );

    // SSDO's last task on the shared referral: that referral leaves its list too, the other stays.
    expect((await act('ssdo', shared.referralId, 'complete-task', { taskId: 'T2', outcome: 'NOT_POSSIBLE' })).statusCode).toBe(200);
    expect(mine((await tasksOf('ssdo')).tasks).map((t) => t.referralId)).toEqual([ssdoOnly.referralId]);
    await eventually(() => visible('SSDO'), (ids) => !ids.includes(protectionWorkflowId(shared.referralId)), 30_000, 'SSDO gone from the attribute');
  });

  it('serves the OpenAPI document generated from the schemas', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/referrals', '/referrals/{referralId}', '/referrals/{referralId}/actions/acknowledge', '/partner/tasks']));
    expect(doc.paths['/referrals'].post.requestBody.content['application/json'].schema.properties.facts).toBeDefined();
    expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
  });
});
