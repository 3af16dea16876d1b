/**
 * The codec server (codec/server.ts) decodes only for callers allowed to see the referral, and
 * audits every decode: the API's authenticator (API keys and signed tokens), the decode policy
 * (codec/decode-policy.ts: operators and admins, the agencies in a referral's Parties, nobody
 * else), sign-in sessions for the Web UI, CORS with credentials for the UI origin only, and one
 * audit record per decode request (codec/audit.ts), validated by its schema and never holding a
 * payload or a credential. Over real HTTP; the audit records go to an in-memory publisher.
 */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, TypedSearchAttributes, type Payload } from '@temporalio/common';
import { payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils.js';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuthenticator, sha256Hex, type Principal } from '../../api/auth.js';
import { AesGcmCodec, KeyRing } from '../../codec/aes-gcm-codec.js';
import { createCodecAudit, readCodecAudit } from '../../codec/audit.js';
import { createDecodePolicy, temporalPartiesLookup, type PartiesLookup } from '../../codec/decode-policy.js';
import { DistrictKey, PartiesKey, ProvinceKey } from '../../workflows/search-attributes.js';
import { cookieValue, createSessionStore, SESSION_COOKIE } from '../../codec/sessions.js';
import { startCodecServer, type CodecServer, type CodecServerLogger } from '../../codec/server.js';
import type { Identity } from '../../config/identities.js';
import type { CodecAuditV1 } from '../../schemas/audit.js';
import { RecordingPublisher } from '../support/recording-publisher.js';

const ring = new KeyRing('k1', { k1: randomBytes(32) });
const codec = new AesGcmCodec(ring);
const uiOrigin = 'http://127.0.0.1:8233';
const AUDIT_TOPIC = 'referrals.audit';
const victim = 'Codec Server Victim Sana';

/** One referral FIA leads (NCCIA supporting); another with a hyphenated id whose protection track exists. */
const parties = new Map<string, string[]>([
  ['TIP-2026-0001', ['FIA', 'NCCIA', 'AHTC-D', 'AHTC-P', 'AHTC-N']],
  ['FJA-2026-0002', ['NCCIA', 'AHTC-D']],
  // Qualified committees (since patch referral-parties-by-jurisdiction): a Lahore case.
  ['SOM-2026-0003', ['FIA', 'AHTC-D:PUNJAB:LAHORE', 'AHTC-P:PUNJAB', 'AHTC-N']],
]);
const lookups: string[] = [];
/** The Parties search attribute as Temporal would answer it (the integration test reads the real one). */
const lookupParties: PartiesLookup = async (referralId) => {
  lookups.push(referralId);
  return parties.get(referralId);
};

const key = (id: string) => `codec-key-${id}-${'x'.repeat(16)}`;
const people: Array<Omit<Identity, 'keySha256'>> = [
  { id: 'op-1', agency: 'MOI', role: 'operator' },
  { id: 'admin-1', agency: 'MOI', role: 'admin' },
  { id: 'fia-officer', agency: 'FIA', role: 'officer' },
  { id: 'nccia-supervisor', agency: 'NCCIA', role: 'supervisor' },
  { id: 'pta-officer', agency: 'PTA', role: 'officer' },
  { id: 'iom-caseworker', agency: 'PARTNER', role: 'partner', organisation: 'IOM' },
];
const identities: Identity[] = people.map((p) => ({ ...p, keySha256: sha256Hex(key(p.id)) }));
const bearer = (id: string) => ({ authorization: `Bearer ${key(id)}` });

const ISSUER = 'urn:codec-test';
const AUDIENCE = 'referral-engine';

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

const text = (p: JSONPayload) => (p.data ? Buffer.from(p.data, 'base64').toString('utf8') : '');
const toPayload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
async function encrypted(value: unknown, workflowId?: string): Promise<JSONPayload> {
  const [p] = await codec.encode([toPayload(value)], workflowId ? { type: 'workflow', namespace: 'default', workflowId } : undefined);
  return payloadToJSON(p!);
}

describe('decode policy', () => {
  const policy = createDecodePolicy({ lookupParties, namespace: 'default' });
  const who = (id: string): Principal => {
    const p = people.find((x) => x.id === id)!;
    return { id: p.id, agency: p.agency, role: p.role, ...(p.organisation ? { organisation: p.organisation } : {}), via: 'api-key' };
  };

  it('operators and admins decode every payload, named or not, without asking Temporal', async () => {
    lookups.length = 0;
    expect(await policy.decide(who('op-1'), 'referral-TIP-2026-0001')).toEqual({ allowed: true, reason: 'OPERATOR', referralIds: ['TIP-2026-0001'] });
    expect(await policy.decide(who('admin-1'), undefined)).toEqual({ allowed: true, reason: 'ADMIN', referralIds: [] });
    expect(await policy.decide(who('op-1'), 'referral-UNKNOWN-1', 'another-namespace')).toMatchObject({ allowed: true, reason: 'OPERATOR' });
    expect(lookups).toEqual([]);
  });

  it("an agency party to the referral decodes it, its tracks too (both readings of the id); others are told why not", async () => {
    expect(await policy.decide(who('fia-officer'), 'referral-TIP-2026-0001')).toEqual({ allowed: true, reason: 'PARTY', referralIds: ['TIP-2026-0001'] });
    // `TIP-2026-0001-protection` is no referral; read as the protection track of TIP-2026-0001 it is.
    expect(await policy.decide(who('nccia-supervisor'), 'referral-TIP-2026-0001-protection')).toEqual({
      allowed: true,
      reason: 'PARTY',
      referralIds: ['TIP-2026-0001-protection', 'TIP-2026-0001'],
    });
    expect(await policy.decide(who('pta-officer'), 'referral-TIP-2026-0001')).toEqual({ allowed: false, reason: 'NOT_A_PARTY', referralIds: ['TIP-2026-0001'] });
    expect(await policy.decide(who('fia-officer'), 'referral-FJA-2026-0002-justice')).toMatchObject({ allowed: false, reason: 'NOT_A_PARTY' });
    expect(await policy.decide(who('fia-officer'), 'referral-NOPE-2026-9')).toMatchObject({ allowed: false, reason: 'UNKNOWN_REFERRAL' });
    expect(await policy.decide(who('fia-officer'), 'bench-workflow-1')).toMatchObject({ allowed: false, reason: 'NOT_A_REFERRAL', referralIds: [] });
  });

  it('a committee decodes the referrals of its own jurisdiction only, as the API lets it read them', async () => {
    const committee = (agency: string, jurisdiction?: Principal['jurisdiction']): Principal => ({
      id: `${agency.toLowerCase()}-chair`,
      agency,
      role: 'supervisor',
      ...(jurisdiction ? { jurisdiction } : {}),
      via: 'api-key',
    });
    expect(await policy.decide(committee('AHTC-D', { province: 'PUNJAB', district: 'LAHORE' }), 'referral-SOM-2026-0003')).toMatchObject({ allowed: true, reason: 'PARTY' });
    expect(await policy.decide(committee('AHTC-D', { province: 'BALOCHISTAN', district: 'GWADAR' }), 'referral-SOM-2026-0003')).toMatchObject({ allowed: false, reason: 'NOT_A_PARTY' });
    expect(await policy.decide(committee('AHTC-P', { province: 'PUNJAB' }), 'referral-SOM-2026-0003')).toMatchObject({ allowed: true, reason: 'PARTY' });
    expect(await policy.decide(committee('AHTC-P', { province: 'SINDH' }), 'referral-SOM-2026-0003')).toMatchObject({ allowed: false, reason: 'NOT_A_PARTY' });
    expect(await policy.decide(committee('AHTC-N'), 'referral-SOM-2026-0003')).toMatchObject({ allowed: true, reason: 'PARTY' });
    // A district committee without a jurisdiction is a party to nothing, even where the list names committees bare.
    expect(await policy.decide(committee('AHTC-D'), 'referral-FJA-2026-0002')).toMatchObject({ allowed: false, reason: 'NOT_A_PARTY' });
  });

  it("a referral's Parties from before committees were qualified is read with its own location", async () => {
    const described = (parties: string[]) => ({
      workflow: {
        getHandle: () => ({
          describe: async () => ({
            typedSearchAttributes: new TypedSearchAttributes([
              { key: PartiesKey, value: parties },
              { key: ProvinceKey, value: 'PUNJAB' },
              { key: DistrictKey, value: 'Lahore' },
            ]),
          }),
        }),
      },
    });
    const lookup = (parties: string[]) => temporalPartiesLookup(described(parties) as unknown as Parameters<typeof temporalPartiesLookup>[0]);
    expect(await lookup(['FIA', 'AHTC-D', 'AHTC-P', 'AHTC-N'])('SOM-1')).toEqual(['FIA', 'AHTC-N', 'AHTC-D:PUNJAB:LAHORE', 'AHTC-P:PUNJAB']);
    expect(await lookup(['FIA', 'AHTC-D:PUNJAB:LAHORE', 'AHTC-P:PUNJAB', 'AHTC-N'])('SOM-1')).toEqual(['FIA', 'AHTC-D:PUNJAB:LAHORE', 'AHTC-P:PUNJAB', 'AHTC-N']);
  });

  it('payloads naming no workflow are for operators and admins; partners, callers without credentials and other namespaces are refused', async () => {
    expect(await policy.decide(who('fia-officer'), undefined)).toMatchObject({ allowed: false, reason: 'UNTAGGED' });
    expect(await policy.decide(who('iom-caseworker'), 'referral-TIP-2026-0001')).toMatchObject({ allowed: false, reason: 'PARTNER' });
    expect(await policy.decide(undefined, 'referral-TIP-2026-0001')).toMatchObject({ allowed: false, reason: 'ANONYMOUS' });
    expect(await policy.decide(who('fia-officer'), 'referral-TIP-2026-0001', 'other')).toMatchObject({ allowed: false, reason: 'OTHER_NAMESPACE' });
    expect(await policy.decide(who('fia-officer'), 'referral-TIP-2026-0001', 'default')).toMatchObject({ allowed: true, reason: 'PARTY' });
  });

  it('keeps each answer for the cache time, bounded, and never keeps a failed lookup (refused meanwhile: LOOKUP_FAILED)', async () => {
    let t = 1_000_000;
    const asked: string[] = [];
    let down = true;
    const cached = createDecodePolicy({
      namespace: 'default',
      cacheTtlMs: 10_000,
      cacheSize: 2,
      now: () => t,
      lookupParties: async (id) => {
        asked.push(id);
        if (down) throw new Error('Temporal unavailable');
        return parties.get(id);
      },
    });
    const fia = who('fia-officer');
    expect(await cached.decide(fia, 'referral-TIP-2026-0001')).toMatchObject({ allowed: false, reason: 'LOOKUP_FAILED' });
    down = false;
    expect(await cached.decide(fia, 'referral-TIP-2026-0001')).toMatchObject({ allowed: true, reason: 'PARTY' });
    expect(asked).toEqual(['TIP-2026-0001', 'TIP-2026-0001']);
    t += 9_000;
    await cached.decide(fia, 'referral-TIP-2026-0001');
    expect(asked).toHaveLength(2);
    // A party added since is seen once the answer is older than the cache time.
    parties.get('FJA-2026-0002')!.push('PTA');
    try {
      expect(await cached.decide(who('pta-officer'), 'referral-FJA-2026-0002')).toMatchObject({ allowed: true });
    } finally {
      parties.get('FJA-2026-0002')!.pop();
    }
    t += 2_000;
    await cached.decide(fia, 'referral-TIP-2026-0001');
    expect(asked.filter((id) => id === 'TIP-2026-0001')).toHaveLength(3);
    // Two answers at most: each new referral pushes the oldest answer out.
    await cached.decide(fia, 'referral-X-2026-3');
    await cached.decide(fia, 'referral-FJA-2026-0002');
    const before = asked.length;
    await cached.decide(fia, 'referral-FJA-2026-0002');
    expect(asked.length).toBe(before);
    await cached.decide(fia, 'referral-TIP-2026-0001');
    expect(asked.length).toBe(before + 1);
  });
});

describe('codec sessions', () => {
  it('end at their TTL or at the token expiry, whichever is first, and hold a bounded number', () => {
    let t = 0;
    const store = createSessionStore({ ttlMs: 1000, maxSessions: 2, now: () => t });
    const principal: Principal = { id: 'op-1', agency: 'MOI', role: 'operator', via: 'api-key' };
    const a = store.create(principal);
    const b = store.create(principal, 500);
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.get(a.id)?.expiresAt).toBe(1000);
    expect(store.get(b.id)?.expiresAt).toBe(500);
    t = 600;
    expect(store.get(b.id)).toBeUndefined();
    expect(store.get(a.id)).toBeDefined();
    store.create(principal);
    store.create(principal);
    expect(store.size).toBeLessThanOrEqual(2);
    expect(store.get(a.id)).toBeUndefined();
    t = 5000;
    expect(store.delete('nope')).toBe(false);
  });
});

describe('codec server: who may decode, and the audit of every decode', () => {
  let server: CodecServer;
  let publisher: RecordingPublisher;
  const logs: LogLine[] = [];
  const logger: CodecServerLogger = {
    debug: (obj, msg) => logs.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
    info: (obj, msg) => logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj, msg) => logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    error: (obj, msg) => logs.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
  };
  let signToken: (claims: Record<string, unknown>, sub: string, expSeconds: number) => Promise<string>;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'codec-test-1', alg: 'EdDSA' }] };
    signToken = (claims, sub, expSeconds) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', kid: 'codec-test-1' })
        .setSubject(sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + expSeconds)
        .sign(privateKey);
    publisher = new RecordingPublisher();
    server = await startCodecServer({
      codec,
      port: 0,
      uiOrigin,
      authenticate: createAuthenticator({ identities, jwt: { keys: createLocalJWKSet(jwks), issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 0 } }),
      policy: createDecodePolicy({ lookupParties, namespace: 'default' }),
      audit: createCodecAudit({ publisher, topic: AUDIT_TOPIC, source: 'referral-engine/default/codec-server' }),
      logger,
    });
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(() => {
    publisher.records.length = 0;
    logs.length = 0;
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.endpoint}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const payloadsOf = async (res: Response) => ((await res.json()) as { payloads: JSONPayload[] }).payloads;
  /** The audit records written, each checked against its schema. */
  const audited = (): CodecAuditV1[] =>
    publisher.records.map((r) => {
      expect(r.topic).toBe(AUDIT_TOPIC);
      const event = readCodecAudit(r);
      expect(event.type).toBe('referral.codec-audit.v1');
      expect(r.key).toBe(event.subject);
      return event.data;
    });
  /** Neither the audit topic nor the log holds a payload's content or a credential. */
  const expectNothingSecret = (...secrets: string[]) => {
    const written = JSON.stringify(publisher.records) + JSON.stringify(logs);
    for (const s of [victim, ...secrets]) expect(written, s).not.toContain(s);
  };

  it('decodes everything for an operator, and writes one record saying who, which referral, when and how many', async () => {
    const sent = [await encrypted({ name: victim }, 'referral-TIP-2026-0001'), await encrypted('untagged'), payloadToJSON(toPayload(42))];
    const res = await post('/decode', { payloads: sent }, { ...bearer('op-1'), 'x-namespace': 'default' });
    expect(res.status).toBe(200);
    const out = await payloadsOf(res);
    expect(JSON.parse(text(out[0]!))).toEqual({ name: victim });
    expect(JSON.parse(text(out[1]!))).toBe('untagged');
    expect(out[2]).toEqual(sent[2]);

    const [record, ...more] = audited();
    expect(more).toEqual([]);
    expect(record).toMatchObject({
      principal: { id: 'op-1', agency: 'MOI', role: 'operator', via: 'api-key' },
      credential: 'bearer',
      outcome: 'DECODED',
      status: 200,
      referralIds: ['TIP-2026-0001'],
      payloads: { total: 3, decoded: 2, refused: 0, plain: 1 },
      namespace: 'default',
      workflows: [
        { workflowId: 'referral-TIP-2026-0001', referralIds: ['TIP-2026-0001'], decision: 'OPERATOR', decoded: 1, refused: 0 },
        { workflowId: null, referralIds: [], decision: 'OPERATOR', decoded: 1, refused: 0 },
      ],
    });
    expect(Date.now() - Date.parse(record!.time)).toBeLessThan(10_000);
    const line = logs.find((l) => l.obj['component'] === 'codec-audit')!;
    expect(line).toMatchObject({ level: 'info', obj: { eventId: publisher.records[0]!.headers['ce_id'], outcome: 'DECODED', auditTopic: 'written' } });
    expectNothingSecret(key('op-1'));
  });

  it("decodes a party's referral for its agency, and returns a non-party's payload byte for byte as it was sent", async () => {
    const party = await encrypted({ name: victim }, 'referral-TIP-2026-0001');
    // Unpadded, URL-safe base64 is accepted: the refused payload comes back in exactly that spelling.
    const odd = { ...(await encrypted({ name: victim }, 'referral-FJA-2026-0002')) };
    odd.data = odd.data!.replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');
    const res = await post('/decode', { payloads: [party, odd] }, bearer('fia-officer'));
    expect(res.status).toBe(200);
    const out = await payloadsOf(res);
    expect(JSON.parse(text(out[0]!))).toEqual({ name: victim });
    expect(JSON.stringify(out[1])).toBe(JSON.stringify(odd));

    const nonParty = await post('/decode', { payloads: [party] }, bearer('pta-officer'));
    expect(JSON.stringify(await payloadsOf(nonParty))).toBe(JSON.stringify([party]));

    const [mixed, refused] = audited();
    expect(mixed).toMatchObject({ principal: { id: 'fia-officer', agency: 'FIA', role: 'officer' }, outcome: 'PARTLY_REFUSED', payloads: { decoded: 1, refused: 1 } });
    expect(mixed!.workflows.map((w) => [w.workflowId, w.decision])).toEqual([
      ['referral-TIP-2026-0001', 'PARTY'],
      ['referral-FJA-2026-0002', 'NOT_A_PARTY'],
    ]);
    expect(mixed!.referralIds).toEqual(['TIP-2026-0001', 'FJA-2026-0002']);
    expect(refused).toMatchObject({ principal: { id: 'pta-officer', agency: 'PTA' }, outcome: 'REFUSED', payloads: { decoded: 0, refused: 1 } });
    expect(logs.filter((l) => l.obj['component'] === 'codec-audit').map((l) => l.level)).toEqual(['warn', 'warn']);
    expectNothingSecret(key('fia-officer'), key('pta-officer'));
  });

  it('refuses an untagged payload to an agency, and everything to a partner organisation', async () => {
    const untagged = await encrypted({ name: victim });
    const tagged = await encrypted({ name: victim }, 'referral-TIP-2026-0001');
    expect(await payloadsOf(await post('/decode', { payloads: [untagged] }, bearer('fia-officer')))).toEqual([untagged]);
    expect(await payloadsOf(await post('/decode', { payloads: [tagged, untagged] }, bearer('iom-caseworker')))).toEqual([tagged, untagged]);
    const [agency, partner] = audited();
    expect(agency!.workflows).toEqual([{ workflowId: null, referralIds: [], decision: 'UNTAGGED', decoded: 0, refused: 1 }]);
    expect(partner).toMatchObject({ principal: { id: 'iom-caseworker', role: 'partner', organisation: 'IOM' }, outcome: 'REFUSED' });
    expect(partner!.workflows.map((w) => w.decision)).toEqual(['PARTNER', 'PARTNER']);
  });

  it('answers a caller without credentials 200 with every payload still encrypted, and records the refusal', async () => {
    const sent = [await encrypted({ name: victim }, 'referral-TIP-2026-0001'), payloadToJSON(toPayload('plain'))];
    const res = await post('/decode', { payloads: sent }, { origin: uiOrigin });
    expect(res.status).toBe(200);
    expect(await payloadsOf(res)).toEqual(sent);
    // `{}` (the CLI's empty list) is a decode request too.
    expect(await payloadsOf(await post('/decode', {}))).toEqual([]);
    const [record, empty] = audited();
    expect(record).toMatchObject({
      principal: { id: 'anonymous' },
      credential: 'none',
      outcome: 'REFUSED',
      origin: uiOrigin,
      payloads: { total: 2, decoded: 0, refused: 1, plain: 1 },
      workflows: [{ workflowId: 'referral-TIP-2026-0001', decision: 'ANONYMOUS', refused: 1 }],
    });
    expect(empty).toMatchObject({ principal: { id: 'anonymous' }, outcome: 'REFUSED', payloads: { total: 0 } });
    expect(record!.principal).toEqual({ id: 'anonymous' });
  });

  it('answers bad credentials 401 with the precise code, decodes nothing, and records the attempt', async () => {
    const sent = [await encrypted({ name: victim }, 'referral-TIP-2026-0001')];
    const unknown = await post('/decode', { payloads: sent }, { authorization: 'Bearer not-a-key-of-anyone' });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toBe('Bearer');
    expect(await unknown.json()).toEqual({ error: { code: 'INVALID_CREDENTIALS', message: 'authorization: unknown API key' } });
    const basic = await post('/decode', { payloads: sent }, { authorization: `Basic ${key('op-1')}` });
    expect(basic.status).toBe(401);
    expect(((await basic.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    const expired = await post('/decode', { payloads: sent }, { authorization: `Bearer ${await signToken({ agency: 'MOI', role: 'operator' }, 'op-jwt', -60)}` });
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('TOKEN_EXPIRED');
    const records = audited();
    expect(records.map((r) => [r.credential, r.authError, r.status, r.outcome, r.payloads.decoded])).toEqual([
      ['rejected', 'INVALID_CREDENTIALS', 401, 'REFUSED', 0],
      ['rejected', 'UNAUTHENTICATED', 401, 'REFUSED', 0],
      ['rejected', 'TOKEN_EXPIRED', 401, 'REFUSED', 0],
    ]);
    for (const r of records) expect(r.principal).toEqual({ id: 'anonymous' });
    expectNothingSecret('not-a-key-of-anyone', key('op-1'));
  });

  it('decodes for a signed token (JWT) as for an API key', async () => {
    const token = await signToken({ agency: 'NCCIA', role: 'officer' }, 'nccia-jwt-officer', 300);
    const out = await payloadsOf(await post('/decode', { payloads: [await encrypted({ name: victim }, 'referral-FJA-2026-0002-justice')] }, { authorization: `Bearer ${token}` }));
    expect(JSON.parse(text(out[0]!))).toEqual({ name: victim });
    expect(audited()[0]).toMatchObject({ principal: { id: 'nccia-jwt-officer', agency: 'NCCIA', via: 'jwt' }, outcome: 'DECODED', referralIds: ['FJA-2026-0002-justice', 'FJA-2026-0002'] });
    expectNothingSecret(token);
  });

  it('encodes only for an authenticated caller', async () => {
    const body = { payloads: [payloadToJSON(toPayload({ name: victim }))] };
    const anonymous = await post('/encode', body);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    expect((await post('/encode', body, { authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await post('/encode', body, bearer('pta-officer'));
    expect(ok.status).toBe(200);
    const [p] = await payloadsOf(ok);
    expect(Buffer.from(p!.metadata!['encoding']!, 'base64').toString()).toBe('binary/encrypted');
    expect(text(p!)).not.toContain(victim);
    // Encoding reveals nothing: it is not audited.
    expect(publisher.records).toEqual([]);
    // What it encoded names no workflow: an operator reads it back, the agency that encoded it does not.
    expect(JSON.parse(text((await payloadsOf(await post('/decode', { payloads: [p] }, bearer('op-1'))))[0]!))).toEqual({ name: victim });
    expect(await payloadsOf(await post('/decode', { payloads: [p] }, bearer('pta-officer')))).toEqual([p]);
  });

  it('withholds what it would decode when the audit record cannot be written (503), and still answers a refusal', async () => {
    const sent = [await encrypted({ name: victim }, 'referral-TIP-2026-0001')];
    publisher.failNext = 1;
    const res = await post('/decode', { payloads: sent }, bearer('op-1'));
    expect(res.status).toBe(503);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'AUDIT_UNAVAILABLE' } });
    expect(body).not.toContain(Buffer.from(victim).toString('base64').slice(0, 12));
    expect(logs.find((l) => l.obj['component'] === 'codec-audit' && l.obj['outcome'] === 'DECODED')?.obj).toMatchObject({ auditTopic: 'failed', answered: 503 });
    publisher.failNext = 1;
    const anonymous = await post('/decode', { payloads: sent });
    expect(anonymous.status).toBe(200);
    expect(await payloadsOf(anonymous)).toEqual(sent);
    expect(publisher.records).toEqual([]);
  });

  it('names the key id, not the payload, when a payload cannot be decrypted, and records the failure', async () => {
    const [foreign] = await new AesGcmCodec(new KeyRing('k7', { k7: randomBytes(32) })).encode([toPayload({ name: victim })], { type: 'workflow', namespace: 'default', workflowId: 'referral-TIP-2026-0001' });
    const res = await post('/decode', { payloads: [payloadToJSON(toPayload(1)), payloadToJSON(foreign!)] }, bearer('op-1'));
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; field: string; message: string } };
    expect(body.error).toMatchObject({ code: 'UNKNOWN_KEY_ID', field: 'payloads[1]' });
    expect(body.error.message).toContain('"k7"');
    expect(audited()[0]).toMatchObject({ outcome: 'FAILED', status: 422, payloads: { decoded: 0, plain: 1 } });
  });

  it('signs a browser in with a bearer credential: an HttpOnly, SameSite=Strict cookie on /codec, then decodes with it until signed out', async () => {
    const signIn = await fetch(`${server.endpoint}/session`, { method: 'POST', headers: bearer('nccia-supervisor') });
    expect(signIn.status).toBe(201);
    const body = (await signIn.json()) as { signedIn: boolean; principal: unknown; expiresAt: string };
    expect(body).toMatchObject({ signedIn: true, principal: { id: 'nccia-supervisor', agency: 'NCCIA', role: 'supervisor' } });
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(3_500_000);
    const setCookie = signIn.headers.get('set-cookie')!;
    const attributes = setCookie.split(';').map((a) => a.trim());
    expect(attributes[0]).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}$`));
    expect(attributes.slice(1)).toEqual(['Path=/codec', 'HttpOnly', 'SameSite=Strict', expect.stringMatching(/^Max-Age=3[56]\d\d$/)]);
    // Loopback is plain HTTP: no Secure attribute there (beyond loopback it is set).
    expect(setCookie).not.toContain('Secure');
    const cookie = `${SESSION_COOKIE}=${cookieValue(attributes[0], SESSION_COOKIE)}`;
    expect(JSON.stringify(logs)).not.toContain(cookieValue(attributes[0], SESSION_COOKIE)!);

    const sent = [await encrypted({ name: victim }, 'referral-TIP-2026-0001')];
    const fromUi = await post('/decode', { payloads: sent }, { cookie, origin: uiOrigin });
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(fromUi.headers.get('access-control-allow-credentials')).toBe('true');
    expect(JSON.parse(text((await payloadsOf(fromUi))[0]!))).toEqual({ name: victim });
    expect(audited()[0]).toMatchObject({ principal: { id: 'nccia-supervisor' }, credential: 'session', outcome: 'DECODED', origin: uiOrigin });
    const status = (await (await fetch(`${server.endpoint}/session`, { headers: { cookie } })).json()) as { signedIn: boolean };
    expect(status).toMatchObject({ signedIn: true, principal: { id: 'nccia-supervisor' } });
    expect((await post('/encode', { payloads: [] }, { cookie })).status).toBe(200);

    const signOut = await fetch(`${server.endpoint}/session`, { method: 'DELETE', headers: { cookie } });
    expect(signOut.status).toBe(204);
    expect(signOut.headers.get('set-cookie')).toBe(`${SESSION_COOKIE}=; Path=/codec; HttpOnly; SameSite=Strict; Max-Age=0`);
    const after = await post('/decode', { payloads: sent }, { cookie, origin: uiOrigin });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('SESSION_UNKNOWN');
    expect(after.headers.get('set-cookie')).toContain('Max-Age=0');
    expect(audited()[1]).toMatchObject({ credential: 'rejected', authError: 'SESSION_UNKNOWN', payloads: { decoded: 0 } });
    expect(((await (await fetch(`${server.endpoint}/session`, { headers: { cookie } })).json()) as { signedIn: boolean }).signedIn).toBe(false);
  });

  it("ends a session signed in with a token when the token expires, and refuses a bad sign-in precisely", async () => {
    const token = await signToken({ agency: 'MOI', role: 'operator' }, 'op-jwt', 120);
    const res = await fetch(`${server.endpoint}/session`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(201);
    const { expiresAt } = (await res.json()) as { expiresAt: string };
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(120_000);
    expect(res.headers.get('set-cookie')).toMatch(/Max-Age=1[01]\d;?/);
    const refused = await fetch(`${server.endpoint}/session`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('INVALID_CREDENTIALS');
    expect(refused.headers.get('set-cookie')).toBeNull();
  });

  it('serves a sign-in form at GET /codec/session that signs in and out from its own origin only', async () => {
    const own = new URL(server.endpoint).origin;
    const form = await fetch(`${server.endpoint}/session`, { headers: { accept: 'text/html' } });
    expect(form.status).toBe(200);
    expect(form.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(form.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(form.headers.get('content-security-policy')).toContain("form-action 'self'");
    const html = await form.text();
    expect(html).toContain('<form method="post" action="/codec/session">');
    expect(html).toContain('name="credential" type="password"');
    expect(html).not.toContain('<script');

    const submit = (credential: string, origin: string, extra: Record<string, string> = {}) =>
      fetch(`${server.endpoint}/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin, accept: 'text/html' },
        body: new URLSearchParams({ credential, ...extra }).toString(),
        redirect: 'manual',
      });
    const wrong = await submit('not-a-key', own);
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('INVALID_CREDENTIALS');
    // A page elsewhere cannot sign the browser in (or out).
    const elsewhere = await submit(key('op-1'), 'http://evil.example');
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.headers.get('set-cookie')).toBeNull();

    const ok = await submit(key('op-1'), own);
    expect(ok.status).toBe(200);
    const page = await ok.text();
    expect(page).toContain('Signed in as <strong>op-1</strong> (MOI, operator)');
    expect(page).toContain(`href="${uiOrigin}"`);
    expect(page).not.toContain(key('op-1'));
    const cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${server.endpoint}/session`, { headers: { cookie, accept: 'text/html' } }).then((r) => r.text()))).toContain('Sign out');
    const out = await fetch(`${server.endpoint}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: own, cookie },
      body: 'action=sign-out',
    });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect(((await (await fetch(`${server.endpoint}/session`, { headers: { cookie } })).json()) as { signedIn: boolean }).signedIn).toBe(false);
    expectNothingSecret(key('op-1'), cookie.split('=')[1]!);
  });

  it('answers CORS, with credentials, for the Temporal UI origin only', async () => {
    const preflight = (origin: string, path = '/decode') =>
      fetch(`${server.endpoint}${path}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
      });
    const ok = await preflight(uiOrigin);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-methods')).toBe('POST');
    expect(ok.headers.get('access-control-allow-headers')).toBe('content-type, x-namespace, authorization');
    expect(ok.headers.get('vary')).toBe('Origin');
    // The operator may type localhost instead of 127.0.0.1: same UI.
    expect((await preflight('http://localhost:8233')).headers.get('access-control-allow-origin')).toBe('http://localhost:8233');

    const cookie = (await fetch(`${server.endpoint}/session`, { method: 'POST', headers: bearer('op-1') })).headers.get('set-cookie')!.split(';')[0]!;
    for (const evil of ['http://evil.example', 'http://127.0.0.1:9999', 'null', new URL(server.endpoint).origin]) {
      const refused = await preflight(evil);
      expect(refused.status, evil).toBe(403);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
      expect(refused.headers.get('access-control-allow-credentials')).toBeNull();
      // Not even with the operator's cookie: a page elsewhere gets no answer.
      const posted = await post('/decode', { payloads: [] }, { origin: evil, cookie });
      expect(posted.status, evil).toBe(403);
      expect(posted.headers.get('access-control-allow-credentials')).toBeNull();
      expect(await posted.json()).toEqual({ error: { code: 'ORIGIN_NOT_ALLOWED' } });
    }
    // The CLI and scripts send no Origin: no CORS headers at all.
    const cli = await post('/decode', { payloads: [] }, bearer('op-1'));
    expect(cli.status).toBe(200);
    expect(cli.headers.get('access-control-allow-origin')).toBeNull();
    expect(cli.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('answers 400 with the field at fault, 404 to other paths and 405 to other methods, none of them a decode', async () => {
    const bad = await post('/decode', '{"payloads": [', bearer('op-1'));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'INVALID_JSON', field: '(body)' } });
    expect(((await (await post('/decode', { payloads: 'x' })).json()) as { error: { field: string } }).error.field).toBe('payloads');
    for (const path of ['/decodes', '/../decode', '', '/session/x']) expect((await post(path, { payloads: [] })).status, path).toBe(404);
    expect((await fetch(`${server.endpoint}/decode`)).status).toBe(405);
    expect((await fetch(`${server.endpoint}/session`, { method: 'PUT' })).headers.get('allow')).toBe('GET, POST, DELETE, OPTIONS');
    expect(publisher.records).toEqual([]);
  });
});
