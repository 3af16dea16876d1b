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
    await limited.close();
  });
});
