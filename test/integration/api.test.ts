import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ApiApp } from '../../api/server.js';
import type { ApiRole } from '../../config/identities.js';
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
  { id: 'iom', agency: 'PARTNER', role: 'partner', organisation: 'IOM' },
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

  it('serves the OpenAPI document generated from the schemas', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/referrals', '/referrals/{referralId}', '/referrals/{referralId}/actions/acknowledge', '/partner/tasks']));
    expect(doc.paths['/referrals'].post.requestBody.content['application/json'].schema.properties.facts).toBeDefined();
    expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
  });
});
