import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../api/auth.js';
import type { ReferralService } from '../../api/referral-service.js';
import { buildApi, type ApiApp } from '../../api/server.js';
import type { ApiRole, Identity } from '../../config/identities.js';
import { detected } from '../support/fixtures.js';

const people: Array<{ id: string; agency: string; role: ApiRole; organisation?: string }> = [
  { id: 'officer', agency: 'FIA', role: 'officer' },
  { id: 'supervisor', agency: 'FIA', role: 'supervisor' },
  { id: 'operator', agency: 'MOI', role: 'operator' },
  { id: 'partner', agency: 'PARTNER', role: 'partner', organisation: 'IOM' },
  { id: 'admin', agency: 'MOI', role: 'admin' },
];
const identities: Identity[] = people.map((p) => ({ ...p, keySha256: sha256Hex(`key-${p.id}`) }));
const auth = (id: string) => ({ authorization: `Bearer key-${id}` });

/** Records what reached the service: a denied request must never get there. */
function recordingService() {
  const calls: string[] = [];
  const service = {
    submit: async () => (calls.push('submit'), 'started' as const),
    list: async () => (calls.push('list'), []),
    partnerTasks: async () => (calls.push('partnerTasks'), []),
  } as unknown as ReferralService;
  return { service, calls };
}

describe('API access control by role, before anything reaches Temporal', () => {
  let app: ApiApp;
  let calls: string[];
  const denials: string[] = [];
  beforeAll(async () => {
    const recording = recordingService();
    calls = recording.calls;
    app = await buildApi({ service: recording.service, auth: { identities }, logger: pino({ level: 'silent' }), rateLimitPerMinute: 1000, onDenied: (route) => denials.push(route) });
  });
  afterAll(async () => {
    await app?.close();
  });

  // role → [POST /referrals (own agency as source), GET /referrals, GET /partner/tasks]
  const matrix: Record<string, [number, number, number]> = {
    officer: [201, 200, 403],
    supervisor: [201, 200, 403],
    operator: [403, 200, 403],
    partner: [403, 403, 200],
    admin: [201, 200, 403],
  };
  for (const [role, [submit, list, tasks]] of Object.entries(matrix)) {
    it(`${role}: submit ${submit}, list ${list}, partner tasks ${tasks}`, async () => {
      const me = people.find((p) => p.id === role)!;
      const referral = detected({ sourceAgency: me.agency === 'PARTNER' || me.agency === 'MOI' ? 'FIA' : (me.agency as 'FIA') });
      const r1 = await app.inject({ method: 'POST', url: '/referrals', headers: auth(role), payload: referral });
      const r2 = await app.inject({ method: 'GET', url: '/referrals', headers: auth(role) });
      const r3 = await app.inject({ method: 'GET', url: '/partner/tasks', headers: auth(role) });
      expect([r1.statusCode, r2.statusCode, r3.statusCode]).toEqual([submit, list, tasks]);
      for (const r of [r1, r2, r3].filter((x) => x.statusCode === 403)) expect(r.json().error).toMatchObject({ code: 'FORBIDDEN', message: expect.any(String) });
    });
  }

  it('counts every denial and never lets a denied request reach the service', async () => {
    const before = { calls: calls.length, denials: denials.length };
    const res = await app.inject({ method: 'GET', url: '/partner/tasks', headers: auth('officer') });
    expect(res.statusCode).toBe(403);
    expect(calls.length).toBe(before.calls);
    expect(denials.length).toBe(before.denials + 1);
  });

  it('an officer may not submit in the name of another agency', async () => {
    const res = await app.inject({ method: 'POST', url: '/referrals', headers: auth('officer'), payload: detected({ sourceAgency: 'NCCIA' }) });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toMatch(/^sourceAgency:/);
  });

  it('limits requests per identity, not per address', async () => {
    const limited = await buildApi({ service: recordingService().service, auth: { identities }, logger: pino({ level: 'silent' }), rateLimitPerMinute: 3 });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await limited.inject({ method: 'GET', url: '/referrals', headers: auth('operator') })).statusCode);
    expect(codes).toEqual([200, 200, 200, 429]);
    // Another identity from the same address still gets through.
    expect((await limited.inject({ method: 'GET', url: '/referrals', headers: auth('admin') })).statusCode).toBe(200);
    // The same identity by another header (X-Api-Key) shares its bucket: keyed by who, not by what was sent.
    expect((await limited.inject({ method: 'GET', url: '/referrals', headers: { 'x-api-key': 'key-operator' } })).statusCode).toBe(429);
    await limited.close();
  });

  it('refused credentials count against the remote address: a fresh junk token each time gets no fresh bucket', async () => {
    const limited = await buildApi({ service: recordingService().service, auth: { identities }, logger: pino({ level: 'silent' }), rateLimitPerMinute: 3 });
    const codes = [];
    for (let i = 0; i < 5; i++) {
      const junk = i % 2 === 0 ? `junk-key-${i}` : `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.junk${i}`;
      codes.push((await limited.inject({ method: 'GET', url: '/referrals', headers: { authorization: `Bearer ${junk}` }, remoteAddress: '10.0.0.7' })).statusCode);
    }
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    expect((await limited.inject({ method: 'GET', url: '/whoami', remoteAddress: '10.0.0.7' })).statusCode).toBe(429);
    // Another address is not held back, and neither is a valid identity calling from the limited one.
    expect((await limited.inject({ method: 'GET', url: '/referrals', headers: { authorization: 'Bearer junk' }, remoteAddress: '10.0.0.8' })).statusCode).toBe(401);
    expect((await limited.inject({ method: 'GET', url: '/referrals', headers: auth('operator'), remoteAddress: '10.0.0.7' })).statusCode).toBe(200);
    await limited.close();
  });

  it('GET /referrals/:id answers a referral the caller may not see exactly as one that does not exist (404, same body), and records the denial', async () => {
    const referral = { referralId: 'FIA-2026-0042', routing: { status: 'ROUTED', lead: 'NCCIA', supporting: [], informed: [], escalationCommittee: 'AHTC-D' }, timeline: [{ action: 'DETECTED', agency: 'NCCIA' }] };
    const known = new Set(['FIA-2026-0042']);
    const service = {
      get: async (id: string) => (known.has(id) ? { referral, temporalUiUrl: 'http://ui' } : undefined),
      persons: async () => [],
    } as unknown as ReferralService;
    const denied: string[] = [];
    const hiding = await buildApi({ service, auth: { identities }, logger: pino({ level: 'silent' }), rateLimitPerMinute: 1000, onDenied: (route) => denied.push(route) });
    const hidden = await hiding.inject({ method: 'GET', url: '/referrals/FIA-2026-0042', headers: auth('officer') });
    const missing = await hiding.inject({ method: 'GET', url: '/referrals/FIA-2026-0043', headers: auth('officer') });
    expect([hidden.statusCode, missing.statusCode]).toEqual([404, 404]);
    expect(hidden.json()).toEqual({ error: { code: 'UNKNOWN_REFERRAL', message: 'referralId: no referral FIA-2026-0042', field: 'referralId' } });
    expect(hidden.body.replace('0042', '0043')).toBe(missing.body);
    expect(Object.keys(hidden.headers).sort()).toEqual(Object.keys(missing.headers).sort());
    expect(denied).toEqual(['/referrals/:referralId']);
    // A partner, too; the operator sees it.
    expect((await hiding.inject({ method: 'GET', url: '/referrals/FIA-2026-0042', headers: auth('partner') })).statusCode).toBe(404);
    expect((await hiding.inject({ method: 'GET', url: '/referrals/FIA-2026-0042', headers: auth('operator') })).statusCode).toBe(200);
    await hiding.close();
  });

  it('serves /docs with a Content-Security-Policy', async () => {
    const page = await app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers['content-security-policy'] ?? '');
    for (const directive of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'"]) expect(csp).toContain(directive);
    expect(csp).not.toContain('unsafe-inline');
    expect(String((await app.inject({ method: 'GET', url: '/docs/json' })).headers['content-security-policy'])).toContain("default-src 'self'");
  });
});
