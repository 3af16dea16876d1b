/**
 * Committees by jurisdiction (domain/jurisdiction.ts): a district committee is a party to its
 * district's referrals only, a provincial committee to its province's, the national committee to
 * all; the same rule for the API's detail, its list and old `Parties` lists; identities and
 * their jurisdictions checked against the known districts.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../api/auth.js';
import { partiesClause, type ReferralService } from '../../api/referral-service.js';
import { partiesOf } from '../../api/routes/referrals.js';
import { buildApi } from '../../api/server.js';
import { Identity } from '../../config/identities.js';
import { committeesOf, districtCode, isParty, partiesAt, withJurisdiction } from '../../domain/jurisdiction.js';
import { districtsByProvince, Jurisdiction } from '../../schemas/jurisdiction.js';
import type { ReferralState } from '../../workflows/types.js';

const lahore = { province: 'PUNJAB', district: 'Lahore' };
const gwadar = { province: 'BALOCHISTAN', district: 'Gwadar' };
const dc = (province: string, district: string) => ({ agency: 'AHTC-D', jurisdiction: { province, district } });
const pc = (province: string) => ({ agency: 'AHTC-P', jurisdiction: { province } });

describe('committees are parties by jurisdiction', () => {
  it('qualifies the committees of a referral by its location, whatever the routing names', () => {
    expect(partiesAt(['FIA', 'SWD', 'MOI', 'AHTC-D', 'AHTC-N', 'FIA'], lahore)).toEqual(['FIA', 'SWD', 'MOI', 'AHTC-D:PUNJAB:LAHORE', 'AHTC-P:PUNJAB', 'AHTC-N']);
    expect(committeesOf({ province: 'PUNJAB', district: ' dera ghazi  khan ' })).toEqual(['AHTC-D:PUNJAB:DERA_GHAZI_KHAN', 'AHTC-P:PUNJAB', 'AHTC-N']);
    expect(districtCode('Mandi Bahauddin')).toBe('MANDI_BAHAUDDIN');
  });

  it('makes a district committee a party to its district only, a provincial one to its province, the national one to all', () => {
    const inLahore = partiesAt(['FIA'], lahore);
    const inGwadar = partiesAt(['FIA'], gwadar);
    const cases: Array<[string, { agency: string; jurisdiction?: { province: string; district?: string } }, boolean, boolean]> = [
      ['Lahore district committee', dc('PUNJAB', 'LAHORE'), true, false],
      ['Gwadar district committee', dc('BALOCHISTAN', 'GWADAR'), false, true],
      ['Multan district committee', dc('PUNJAB', 'MULTAN'), false, false],
      ['Punjab provincial committee', pc('PUNJAB'), true, false],
      ['Balochistan provincial committee', pc('BALOCHISTAN'), false, true],
      ['national committee', { agency: 'AHTC-N' }, true, true],
      ['a district committee without a jurisdiction', { agency: 'AHTC-D' }, false, false],
      ['a provincial committee naming a district', { agency: 'AHTC-P', jurisdiction: { province: 'PUNJAB', district: 'LAHORE' } }, false, false],
      ['the lead agency', { agency: 'FIA' }, true, true],
      ['another agency', { agency: 'PTA' }, false, false],
    ];
    for (const [who, candidate, a, b] of cases) expect([who, isParty(candidate, inLahore), isParty(candidate, inGwadar)]).toEqual([who, a, b]);
  });

  it('decides a Parties list written before jurisdictions (every committee bare) by the same rule, with the referral location', () => {
    const legacy = ['FIA', 'SWD', 'AHTC-D', 'AHTC-P', 'AHTC-N'];
    expect(isParty(dc('PUNJAB', 'LAHORE'), legacy)).toBe(false);
    expect(isParty(dc('PUNJAB', 'LAHORE'), withJurisdiction(legacy, lahore))).toBe(true);
    expect(isParty(dc('BALOCHISTAN', 'GWADAR'), withJurisdiction(legacy, lahore))).toBe(false);
    expect(isParty(pc('PUNJAB'), withJurisdiction(legacy, lahore))).toBe(true);
    // Without a location the bare entries are dropped: no district or provincial committee, never every one.
    expect(withJurisdiction(legacy, undefined)).toEqual(['FIA', 'SWD', 'AHTC-N']);
    const qualified = partiesAt(['FIA'], lahore);
    expect(withJurisdiction(qualified, gwadar)).toEqual(qualified);
  });

  it('lists by the entry of the caller and, for a committee, the bare code of old referrals within its province', () => {
    expect(partiesClause({ agency: 'FIA' })).toBe("Parties = 'FIA'");
    expect(partiesClause({ agency: 'AHTC-N' })).toBe("Parties = 'AHTC-N'");
    expect(partiesClause(dc('PUNJAB', 'LAHORE'))).toBe("Province = 'PUNJAB' AND (Parties = 'AHTC-D:PUNJAB:LAHORE' OR Parties = 'AHTC-D')");
    expect(partiesClause(pc('SINDH'))).toBe("Province = 'SINDH' AND (Parties = 'AHTC-P:SINDH' OR Parties = 'AHTC-P')");
    expect(partiesClause({ agency: 'AHTC-D' })).toBeUndefined();
  });

  it('validates jurisdictions against the known provinces and their districts', () => {
    expect(Jurisdiction.safeParse({ province: 'PUNJAB', district: 'LAHORE' }).success).toBe(true);
    expect(Jurisdiction.safeParse({ province: 'BALOCHISTAN', district: 'GWADAR' }).success).toBe(true);
    expect(Jurisdiction.safeParse({ province: 'PUNJAB', district: 'GWADAR' }).success).toBe(false);
    expect(Jurisdiction.safeParse({ province: 'PUNJAB', district: 'Lahore' }).error?.issues[0]?.message).toMatch(/LAHORE/);
    for (const [province, districts] of Object.entries(districtsByProvince)) {
      for (const d of districts) expect(districtCode(d), `${province} ${d}`).toBe(d);
      expect(new Set(districts).size).toBe(districts.length);
    }
    const identity = (agency: string, jurisdiction?: unknown) => Identity.safeParse({ id: 'x', agency, role: 'officer', keySha256: sha256Hex('k'), ...(jurisdiction ? { jurisdiction } : {}) });
    expect(identity('AHTC-D', { province: 'PUNJAB', district: 'LAHORE' }).success).toBe(true);
    expect(identity('AHTC-D', { province: 'PUNJAB' }).success).toBe(false);
    expect(identity('AHTC-P', { province: 'PUNJAB', district: 'LAHORE' }).success).toBe(false);
    expect(identity('AHTC-N', { province: 'PUNJAB' }).success).toBe(false);
    // A file from before jurisdictions still loads; its committee identities are parties to nothing.
    expect(identity('AHTC-D').success).toBe(true);
  });
});

describe('the API shows a committee only its jurisdiction', () => {
  const people = [
    { id: 'lahore', agency: 'AHTC-D', role: 'supervisor' as const, jurisdiction: { province: 'PUNJAB' as const, district: 'LAHORE' } },
    { id: 'gwadar', agency: 'AHTC-D', role: 'supervisor' as const, jurisdiction: { province: 'BALOCHISTAN' as const, district: 'GWADAR' } },
    { id: 'punjab', agency: 'AHTC-P', role: 'officer' as const, jurisdiction: { province: 'PUNJAB' as const } },
    { id: 'national', agency: 'AHTC-N', role: 'officer' as const },
  ];
  const identities = people.map((p) => ({ ...p, keySha256: sha256Hex(`key-${p.id}`) }));
  const state = (referralId: string, location: { province: string; district: string }): ReferralState => ({
    referralId,
    stage: 'SCREENING',
    policyVersion: 'p',
    location,
    routing: { status: 'ROUTED', lead: 'FIA', supporting: [], informed: ['MOI'], escalationCommittee: 'AHTC-D', caseType: 'TRAFFICKING', ruleId: 'r' } as never,
    timeline: [{ at: '2026-12-01T00:00:00Z', action: 'DETECTED', actor: 'x', agency: 'FIA' }],
  });
  const referrals = { 'TIP-LHR-0001': state('TIP-LHR-0001', lahore), 'TIP-GWD-0001': state('TIP-GWD-0001', gwadar) } as Record<string, ReferralState>;

  it('GET /referrals/:id: 200 for the committees of the referral, 404 (as unknown) for another district or province', async () => {
    const service = {
      get: async (id: string) => (referrals[id] ? { referral: referrals[id], temporalUiUrl: 'http://ui' } : undefined),
      persons: async () => [],
    } as unknown as ReferralService;
    const app = await buildApi({ service, auth: { identities }, logger: pino({ level: 'silent' }), rateLimitPerMinute: 1000 });
    const status = async (who: string, id: string) => (await app.inject({ method: 'GET', url: `/referrals/${id}`, headers: { authorization: `Bearer key-${who}` } })).statusCode;
    const seen: Record<string, [number, number]> = {};
    for (const p of people) seen[p.id] = [await status(p.id, 'TIP-LHR-0001'), await status(p.id, 'TIP-GWD-0001')];
    expect(seen).toEqual({ lahore: [200, 404], gwadar: [404, 200], punjab: [200, 404], national: [200, 200] });
    expect(partiesOf(referrals['TIP-GWD-0001']!, 'FIA')).toEqual(['FIA', 'MOI', 'AHTC-D:BALOCHISTAN:GWADAR', 'AHTC-P:BALOCHISTAN', 'AHTC-N']);
    await app.close();
  });

  it('GET /referrals passes the committee to the list, which filters by its jurisdiction', async () => {
    const asked: Array<{ agency: string; jurisdiction?: unknown }> = [];
    const service = { list: async (_f: unknown, principal: { agency: string; jurisdiction?: unknown }) => (asked.push(principal), []) } as unknown as ReferralService;
    const app = await buildApi({ service, auth: { identities }, logger: pino({ level: 'silent' }), rateLimitPerMinute: 1000 });
    expect((await app.inject({ method: 'GET', url: '/referrals', headers: { authorization: 'Bearer key-gwadar' } })).statusCode).toBe(200);
    expect(asked[0]).toMatchObject({ agency: 'AHTC-D', jurisdiction: { province: 'BALOCHISTAN', district: 'GWADAR' } });
    await app.close();
  });
});
