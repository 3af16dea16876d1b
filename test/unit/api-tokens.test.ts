/**
 * Signed tokens (api/auth.ts, api/jwks-file.ts): real jose-signed tokens against the API. EdDSA,
 * ES256 and RS256 from a JWKS picked by kid; exp, iss and aud required; nbf, maximum age and clock
 * tolerance; the agency, role and organisation claims checked against the known lists; HS256 only
 * behind the development switch; every refusal a 401 whose code names the reason. The JWKS file
 * (and a JWKS URL) rotates without a restart.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, type JwtSettings } from '../../api/auth.js';
import { jwksFileKeys } from '../../api/jwks-file.js';
import type { ReferralService } from '../../api/referral-service.js';
import { buildApi, type ApiApp } from '../../api/server.js';
import { ConfigError } from '../../config/errors.js';
import type { Identity } from '../../config/identities.js';

const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'referral-engine';
const identities: Identity[] = [{ id: 'key-operator', agency: 'MOI', role: 'operator', keySha256: sha256Hex('key-operator') }];
const service = { list: async () => [], partnerTasks: async () => [] } as unknown as ReferralService;
const now = () => Math.floor(Date.now() / 1000);

interface Signer {
  alg: 'EdDSA' | 'ES256' | 'RS256';
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signer(alg: Signer['alg'], kid: string): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const claims = { agency: 'FIA', role: 'officer' };

/** A token as an identity provider would issue it; each option spoils one thing. */
function token(s: Signer, o: { claims?: Record<string, unknown>; iss?: string | null; aud?: string | null; exp?: number | null; nbf?: number; iat?: number | null; kid?: string | null; sub?: string } = {}) {
  const jwt = new SignJWT(o.claims ?? claims).setProtectedHeader({ alg: s.alg, ...(o.kid === null ? {} : { kid: o.kid ?? s.kid }) }).setSubject(o.sub ?? 'fia-jwt-officer');
  if (o.iss !== null) jwt.setIssuer(o.iss ?? ISSUER);
  if (o.aud !== null) jwt.setAudience(o.aud ?? AUDIENCE);
  if (o.exp !== null) jwt.setExpirationTime(o.exp ?? now() + 300);
  if (o.iat !== null) jwt.setIssuedAt(o.iat ?? now());
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf);
  return jwt.sign(s.privateKey);
}

function jwks(...signers: Signer[]) {
  return JSON.stringify({ keys: signers.map((s) => s.publicJwk) });
}

async function api(jwt: JwtSettings | undefined): Promise<ApiApp> {
  return buildApi({ service, auth: { identities, ...(jwt ? { jwt } : {}) }, logger: pino({ level: 'silent' }), rateLimitPerMinute: 10_000 });
}

async function call(app: ApiApp, bearer: string) {
  const res = await app.inject({ method: 'GET', url: '/whoami', headers: { authorization: `Bearer ${bearer}` } });
  return { status: res.statusCode, body: res.json() as { error?: { code: string; message: string; field?: string }; id?: string; agency?: string; role?: string; organisation?: string; via?: string } };
}

async function refused(app: ApiApp, bearer: string, code: string) {
  const r = await call(app, bearer);
  expect(r.status, JSON.stringify(r.body)).toBe(401);
  expect(r.body.error).toMatchObject({ code, field: 'authorization' });
  return r.body.error!.message;
}

describe('signed tokens from a JWKS file', () => {
  let dir: string;
  let file: string;
  let ed: Signer;
  let es: Signer;
  let rs: Signer;
  let app: ApiApp;
  const problems: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'api-tokens-'));
    file = join(dir, 'jwks.json');
    [ed, es, rs] = await Promise.all([signer('EdDSA', 'ed-1'), signer('ES256', 'es-1'), signer('RS256', 'rs-1')]);
    writeFileSync(file, jwks(ed, es, rs));
    const keys = jwksFileKeys(file, (m) => problems.push(m));
    app = await api({ keys: keys.getKey, issuer: ISSUER, audience: AUDIENCE, maxAgeSeconds: 3600, clockToleranceSeconds: 30, knownOrganisations: ['IOM', 'SSDO'] });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts EdDSA, ES256 and RS256 tokens, each verified by the key its kid names', async () => {
    for (const s of [ed, es, rs]) {
      const r = await call(app, await token(s));
      expect(r.status, `${s.alg}: ${JSON.stringify(r.body)}`).toBe(200);
      expect(r.body).toMatchObject({ id: 'fia-jwt-officer', agency: 'FIA', role: 'officer', via: 'jwt' });
    }
    const partner = await call(app, await token(ed, { claims: { agency: 'PARTNER', role: 'partner', organisation: 'IOM' } }));
    expect(partner.body).toMatchObject({ role: 'partner', organisation: 'IOM' });
  });

  it('refuses an expired token (TOKEN_EXPIRED), within the clock tolerance still accepts it', async () => {
    await refused(app, await token(ed, { exp: now() - 60, iat: now() - 120 }), 'TOKEN_EXPIRED');
    expect((await call(app, await token(ed, { exp: now() - 5, iat: now() - 100 }))).status).toBe(200);
  });

  it('refuses a token not yet valid (nbf, or iat in the future): TOKEN_NOT_YET_VALID', async () => {
    await refused(app, await token(ed, { nbf: now() + 300 }), 'TOKEN_NOT_YET_VALID');
    await refused(app, await token(ed, { iat: now() + 300, exp: now() + 600 }), 'TOKEN_NOT_YET_VALID');
  });

  it('refuses a token older than the maximum age (TOKEN_TOO_OLD), and one without iat when a maximum age is set', async () => {
    await refused(app, await token(ed, { iat: now() - 7200, exp: now() + 300 }), 'TOKEN_TOO_OLD');
    expect(await refused(app, await token(ed, { iat: null }), 'TOKEN_CLAIM')).toContain('"iat"');
  });

  it('refuses a token without exp or sub (TOKEN_CLAIM)', async () => {
    expect(await refused(app, await token(ed, { exp: null }), 'TOKEN_CLAIM')).toContain('"exp"');
    const noSub = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: ed.kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(ed.privateKey);
    expect(await refused(app, noSub, 'TOKEN_CLAIM')).toContain('"sub"');
  });

  it("refuses unsigned tokens (alg none) and tokens whose signature does not verify", async () => {
    const unsecured = new UnsecuredJWT(claims).setSubject('x').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').encode();
    expect(await refused(app, unsecured, 'TOKEN_ALG')).toMatch(/unsigned/);
    // The same claims under a header that says none in another case, with a signature appended.
    const [, body] = (await token(ed)).split('.');
    const noneHeader = Buffer.from(JSON.stringify({ alg: 'NONE', kid: ed.kid })).toString('base64url');
    await refused(app, `${noneHeader}.${body}.`, 'TOKEN_ALG');
    // Claims altered after signing; and a signature stripped.
    const [h, , sig] = (await token(ed)).split('.');
    const forgedBody = Buffer.from(JSON.stringify({ ...claims, role: 'admin', sub: 'x', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300 })).toString('base64url');
    await refused(app, `${h}.${forgedBody}.${sig}`, 'TOKEN_SIGNATURE');
    await refused(app, `${h}.${body}.`, 'TOKEN_SIGNATURE');
    // Signed by a key that is not in the set, under a kid that is.
    const impostor = { ...(await signer('EdDSA', ed.kid)) };
    await refused(app, await token(impostor), 'TOKEN_SIGNATURE');
  });

  it('refuses a wrong or missing audience (TOKEN_AUDIENCE) and a wrong or missing issuer (TOKEN_ISSUER)', async () => {
    await refused(app, await token(ed, { aud: 'another-service' }), 'TOKEN_AUDIENCE');
    await refused(app, await token(ed, { aud: null }), 'TOKEN_AUDIENCE');
    await refused(app, await token(ed, { iss: 'https://evil.example.test/' }), 'TOKEN_ISSUER');
    await refused(app, await token(ed, { iss: null }), 'TOKEN_ISSUER');
  });

  it('refuses an unknown kid (TOKEN_KID_UNKNOWN), a missing one (TOKEN_KID_MISSING), and a kid of a key for another alg', async () => {
    await refused(app, await token({ ...(await signer('EdDSA', 'nobody')) }), 'TOKEN_KID_UNKNOWN');
    await refused(app, await token(ed, { kid: null }), 'TOKEN_KID_MISSING');
    // An ES256 key's kid on an EdDSA token: no key fits both.
    await refused(app, await token(ed, { kid: es.kid }), 'TOKEN_KID_UNKNOWN');
  });

  it('refuses HS256 when the development switch is off, and algorithms outside EdDSA, ES256, RS256 (TOKEN_ALG)', async () => {
    const secret = new TextEncoder().encode('a-development-secret-of-32-chars!!');
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(secret);
    expect(await refused(app, hs, 'TOKEN_ALG')).toContain('API_JWT_ALLOW_HS256');
    const { privateKey } = await generateKeyPair('RS384');
    const rs384 = await new SignJWT(claims).setProtectedHeader({ alg: 'RS384', kid: rs.kid }).setSubject('x').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(privateKey);
    await refused(app, rs384, 'TOKEN_ALG');
  });

  it('refuses unknown agency and role claims, and a partner without a (known) organisation (TOKEN_CLAIM)', async () => {
    expect(await refused(app, await token(ed, { claims: { agency: 'KGB', role: 'officer' } }), 'TOKEN_CLAIM')).toMatch(/agency/);
    expect(await refused(app, await token(ed, { claims: { role: 'officer' } }), 'TOKEN_CLAIM')).toMatch(/agency/);
    expect(await refused(app, await token(ed, { claims: { agency: 'FIA', role: 'superuser' } }), 'TOKEN_CLAIM')).toMatch(/role/);
    expect(await refused(app, await token(ed, { claims: { agency: 'PARTNER', role: 'partner' } }), 'TOKEN_CLAIM')).toMatch(/organisation/);
    expect(await refused(app, await token(ed, { claims: { agency: 'PARTNER', role: 'partner', organisation: 'ACME' } }), 'TOKEN_CLAIM')).toMatch(/organisation/);
    expect(await refused(app, await token(ed, { claims: { agency: 'FIA', role: 'partner', organisation: 'IOM' } }), 'TOKEN_CLAIM')).toMatch(/agency/);
    expect(await refused(app, await token(ed, { claims: { agency: 'PARTNER', role: 'admin' } }), 'TOKEN_CLAIM')).toMatch(/role/);
  });

  it("takes a committee's jurisdiction claim, checked against the known provinces and districts (TOKEN_CLAIM)", async () => {
    const lahore = await call(app, await token(ed, { claims: { agency: 'AHTC-D', role: 'supervisor', jurisdiction: { province: 'PUNJAB', district: 'LAHORE' } } }));
    expect(lahore.status).toBe(200);
    expect(lahore.body).toMatchObject({ agency: 'AHTC-D', jurisdiction: { province: 'PUNJAB', district: 'LAHORE' } });
    expect(await refused(app, await token(ed, { claims: { agency: 'AHTC-D', role: 'supervisor' } }), 'TOKEN_CLAIM')).toMatch(/jurisdiction/);
    expect(await refused(app, await token(ed, { claims: { agency: 'AHTC-D', role: 'supervisor', jurisdiction: { province: 'PUNJAB', district: 'GWADAR' } } }), 'TOKEN_CLAIM')).toMatch(/jurisdiction/);
    expect(await refused(app, await token(ed, { claims: { agency: 'AHTC-P', role: 'officer', jurisdiction: { province: 'ATLANTIS' } } }), 'TOKEN_CLAIM')).toMatch(/jurisdiction/);
    expect(await refused(app, await token(ed, { claims: { agency: 'AHTC-P', role: 'officer', jurisdiction: { province: 'SINDH', district: 'THATTA' } } }), 'TOKEN_CLAIM')).toMatch(/jurisdiction/);
    expect(await refused(app, await token(ed, { claims: { agency: 'AHTC-N', role: 'officer', jurisdiction: { province: 'SINDH' } } }), 'TOKEN_CLAIM')).toMatch(/jurisdiction/);
    expect((await call(app, await token(ed, { claims: { agency: 'AHTC-P', role: 'officer', jurisdiction: { province: 'SINDH' } } }))).status).toBe(200);
    expect((await call(app, await token(ed, { claims: { agency: 'AHTC-N', role: 'officer' } }))).status).toBe(200);
  });

  it('rotates without a restart: a new key is accepted as soon as the file has it, a removed one is refused', async () => {
    const next = await signer('EdDSA', 'ed-2');
    const newToken = await token(next);
    await refused(app, newToken, 'TOKEN_KID_UNKNOWN');
    // Step 1: publish the new key beside the old one (written elsewhere, renamed into place).
    writeFileSync(`${file}.tmp`, jwks(ed, next, es, rs));
    renameSync(`${file}.tmp`, file);
    expect((await call(app, newToken)).status).toBe(200);
    expect((await call(app, await token(ed))).status).toBe(200);
    // Step 2: retire the old key, rewriting the file in place.
    writeFileSync(file, jwks(next));
    await refused(app, await token(ed), 'TOKEN_KID_UNKNOWN');
    expect((await call(app, newToken)).status).toBe(200);
    // A half-written file is reported and the last good keys stay in use.
    writeFileSync(file, '{"keys": [');
    expect((await call(app, newToken)).status).toBe(200);
    expect(problems.at(-1)).toMatch(/API_JWKS_FILE .*not valid JSON.*keeping the last keys/);
  });

  it('API keys still work beside tokens', async () => {
    const r = await app.inject({ method: 'GET', url: '/whoami', headers: { authorization: 'Bearer key-operator' } });
    expect(r.json()).toMatchObject({ id: 'key-operator', via: 'api-key' });
  });
});

describe('token settings', () => {
  it('without token settings, a token is refused as not accepted (API keys only)', async () => {
    const s = await signer('EdDSA', 'x');
    const app = await api(undefined);
    await refused(app, await token(s), 'TOKEN_NOT_ACCEPTED');
    await app.close();
  });

  it('HS256 with the development switch: verified with the secret, and still held to exp, iss and aud', async () => {
    const secret = new TextEncoder().encode('a-development-secret-of-32-chars!!');
    const app = await api({ hs256Secret: secret, issuer: ISSUER, audience: AUDIENCE });
    const hs = (o: { aud?: string; exp?: number } = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('hs-dev').setIssuer(ISSUER).setAudience(o.aud ?? AUDIENCE).setExpirationTime(o.exp ?? now() + 60).sign(secret);
    expect((await call(app, await hs())).body).toMatchObject({ id: 'hs-dev', via: 'jwt' });
    await refused(app, await hs({ aud: 'x' }), 'TOKEN_AUDIENCE');
    await refused(app, await hs({ exp: now() - 60 }), 'TOKEN_EXPIRED');
    const other = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('1m').sign(new TextEncoder().encode('another-secret-another-secret-1234'));
    await refused(app, other, 'TOKEN_SIGNATURE');
    // No JWKS configured: an EdDSA token is not accepted.
    await refused(app, await token(await signer('EdDSA', 'k')), 'TOKEN_NOT_ACCEPTED');
    await app.close();
  });

  it('a missing or bad JWKS file stops the start, naming API_JWKS_FILE and each problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-jwks-'));
    try {
      expect(() => jwksFileKeys(join(dir, 'none.json'))).toThrow(ConfigError);
      const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)) }, { kty: 'oct', kid: 'k', k: 'c2VjcmV0' }] }));
      let message = '';
      try {
        jwksFileKeys(bad);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain('API_JWKS_FILE');
      expect(message).toContain('keys.0.kid');
      expect(message).toContain('keys.0: holds private key material');
      expect(message).toContain('keys.1.kty');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('signed tokens from a JWKS URL (jose remote set)', () => {
  let server: Server;
  let served: string;
  let url: URL;
  let fetches = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(served);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = new URL(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/jwks.json`);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('picks keys by kid and fetches the set again for a kid it does not know yet', async () => {
    const first = await signer('ES256', 'url-1');
    const second = await signer('RS256', 'url-2');
    served = jwks(first);
    const app = await api({ keys: createRemoteJWKSet(url, { cooldownDuration: 0 }), issuer: ISSUER, audience: AUDIENCE });
    expect((await call(app, await token(first))).status).toBe(200);
    await refused(app, await token(second), 'TOKEN_KID_UNKNOWN');
    served = jwks(first, second);
    const before = fetches;
    expect((await call(app, await token(second))).status).toBe(200);
    expect(fetches).toBeGreaterThan(before);
    await app.close();
  });

  it('a JWKS endpoint that fails or cannot be reached is a 503 TOKEN_KEYS_UNAVAILABLE, not a refusal of the caller', async () => {
    const s = await signer('EdDSA', 'url-3');
    const failing = createServer((_req, res) => res.writeHead(500).end('down'));
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const port = (failing.address() as { port: number }).port;
    const app = await api({ keys: createRemoteJWKSet(new URL(`http://127.0.0.1:${port}/jwks`), { cooldownDuration: 0 }), issuer: ISSUER, audience: AUDIENCE });
    const down = await call(app, await token(s));
    expect(down.status).toBe(503);
    expect(down.body.error?.code).toBe('TOKEN_KEYS_UNAVAILABLE');
    await new Promise<void>((resolve) => failing.close(() => resolve()));
    const unreachable = await call(app, await token(s));
    expect([unreachable.status, unreachable.body.error?.code]).toEqual([503, 'TOKEN_KEYS_UNAVAILABLE']);
    await app.close();
  });
});

describe('development tokens (scripts/dev-identities.ts)', () => {
  it('writes an Ed25519 key pair once (private JWK mode 600, public JWKS) and signs short-lived tokens the API accepts', async () => {
    const { ensureSigningKey, devToken } = await import('../../scripts/dev-identities.js');
    const { statSync, readFileSync } = await import('node:fs');
    const { JWT_DEV_ISSUER } = await import('../../config/identities.js');
    const dir = mkdtempSync(join(tmpdir(), 'dev-ids-'));
    try {
      const first = await ensureSigningKey(dir);
      expect(first.created).toBe(true);
      expect(statSync(first.privateFile).mode & 0o777).toBe(0o600);
      const publicSet = JSON.parse(readFileSync(first.jwksFile, 'utf8')) as { keys: JWK[] };
      expect(publicSet.keys).toHaveLength(1);
      expect(publicSet.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String) });
      expect(publicSet.keys[0]).not.toHaveProperty('d');
      const again = await ensureSigningKey(dir);
      expect(again.created).toBe(false);
      expect(readFileSync(first.jwksFile, 'utf8')).toBe(JSON.stringify(publicSet, null, 2));

      const privateJwk = JSON.parse(readFileSync(first.privateFile, 'utf8')) as JWK;
      const app = await api({ keys: jwksFileKeys(first.jwksFile).getKey, issuer: JWT_DEV_ISSUER, audience: AUDIENCE, maxAgeSeconds: 3600, knownOrganisations: ['IOM'] });
      const officer = await call(app, await devToken({ id: 'fia-officer', agency: 'FIA', role: 'officer' }, privateJwk));
      expect(officer.body).toMatchObject({ id: 'fia-officer', agency: 'FIA', role: 'officer', via: 'jwt' });
      const partner = await call(app, await devToken({ id: 'iom-caseworker', agency: 'PARTNER', role: 'partner', organisation: 'IOM' }, privateJwk));
      expect(partner.body).toMatchObject({ role: 'partner', organisation: 'IOM' });
      const claimsOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };
      const { exp, iat } = claimsOf(await devToken({ id: 'x', agency: 'FIA', role: 'officer' }, privateJwk));
      expect(exp - iat).toBe(15 * 60);
      await app.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the API role wiring (workers/api.ts tokenSettings)', () => {
  it('from the configuration: the JWKS file, issuer, audience, tolerance and the partner organisations; a bad file stops the start', async () => {
    const { tokenSettings } = await import('../../workers/api.js');
    const dir = mkdtempSync(join(tmpdir(), 'api-wiring-'));
    try {
      const s = await signer('ES256', 'wired-1');
      const file = join(dir, 'jwks.json');
      writeFileSync(file, jwks(s));
      const settings = tokenSettings({ jwksFile: file, issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 30 }, ['IOM'], pino({ level: 'silent' }))!;
      expect(settings).toMatchObject({ issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 30, knownOrganisations: ['IOM'] });
      expect(settings.hs256Secret).toBeUndefined();
      const app = await api(settings);
      expect((await call(app, await token(s))).body).toMatchObject({ via: 'jwt', agency: 'FIA' });
      await refused(app, await token(s, { claims: { agency: 'PARTNER', role: 'partner', organisation: 'SSDO' } }), 'TOKEN_CLAIM');
      await app.close();
      writeFileSync(file, '{"keys":[{"kty":"EC"}]}');
      expect(() => tokenSettings({ jwksFile: file, issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 30 }, [], pino({ level: 'silent' }))).toThrow(/API_JWKS_FILE[\s\S]*keys\.0\.kid/);
      expect(tokenSettings(undefined, [], pino({ level: 'silent' }))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
