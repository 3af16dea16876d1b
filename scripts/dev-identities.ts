import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { sha256Hex } from '../api/auth.js';
import { AgencyCode } from '../schemas/common.js';
import { IdentitiesFile, JWT_DEFAULT_AUDIENCE, JWT_DEV_ISSUER, type ApiRole, type Identity } from '../config/identities.js';
import type { Jurisdiction } from '../schemas/jurisdiction.js';

/**
 * Development identities for the local stack: an officer and a supervisor of every agency and
 * committee (the committees with their jurisdictions: Lahore's district committee, Punjab's
 * provincial one, and Gwadar's and Balochistan's besides), the operator, the admin and two partners' caseworkers. Writes the hashed identities
 * (what the API reads) and, separately, the plain keys for the developer (mode 600); and a local token-signing key: an Ed25519 key pair whose private JWK is kept beside
 * them (mode 600) and whose public JWKS the API verifies tokens with (API_JWKS_FILE, set by
 * `npm start`). Never overwrites: keys stay the same across restarts.
 *
 * `--token <identity id>` prints a short-lived token for that identity, signed with the local
 * key, for curl and the CLI: `TOKEN=$(npx tsx scripts/dev-identities.ts --token fia-officer)`.
 */
type Person = { id: string; agency: string; role: ApiRole; organisation?: string; jurisdiction?: Jurisdiction };

/** Where the committees act: `ahtc-d-*` is Lahore's district committee, `ahtc-p-*` Punjab's provincial one. */
const COMMITTEE_JURISDICTIONS: Record<string, Jurisdiction | undefined> = {
  'AHTC-D': { province: 'PUNJAB', district: 'LAHORE' },
  'AHTC-P': { province: 'PUNJAB' },
};

const people: Person[] = [
  // An officer and a supervisor for every agency and committee, so that each can try its own
  // supervisor-only actions as well as its officers' (`nccia-supervisor`, `ahtc-p-supervisor`, …).
  ...AgencyCode.options
    .filter((agency) => agency !== 'PARTNER')
    .flatMap((agency) =>
      (['officer', 'supervisor'] as const).map((role): Person => {
        const jurisdiction = COMMITTEE_JURISDICTIONS[agency];
        return { id: `${agency.toLowerCase()}-${role}`, agency, role, ...(jurisdiction ? { jurisdiction } : {}) };
      }),
    ),
  { id: 'ahtc-d-chair', agency: 'AHTC-D', role: 'supervisor', jurisdiction: { province: 'PUNJAB', district: 'LAHORE' } },
  // Committees of another territory: Gwadar's district committee and Balochistan's provincial one
  // see and act on their own referrals only, never Lahore's.
  { id: 'ahtc-d-gwadar-officer', agency: 'AHTC-D', role: 'officer', jurisdiction: { province: 'BALOCHISTAN', district: 'GWADAR' } },
  { id: 'ahtc-d-gwadar-supervisor', agency: 'AHTC-D', role: 'supervisor', jurisdiction: { province: 'BALOCHISTAN', district: 'GWADAR' } },
  { id: 'ahtc-p-balochistan-supervisor', agency: 'AHTC-P', role: 'supervisor', jurisdiction: { province: 'BALOCHISTAN' } },
  { id: 'operator', agency: 'MOI', role: 'operator' },
  { id: 'admin', agency: 'MOI', role: 'admin' },
  { id: 'iom-caseworker', agency: 'PARTNER', role: 'partner', organisation: 'IOM' },
  { id: 'ssdo-caseworker', agency: 'PARTNER', role: 'partner', organisation: 'SSDO' },
];

const USAGE = `usage: tsx scripts/dev-identities.ts [--out .stack/identities.json] [--keys .stack/api-keys.json]
       tsx scripts/dev-identities.ts --token <identity id> [--ttl 15m] [--out .stack/identities.json]

Writes development identities and API keys, and a local token-signing key pair:
<dir of --out>/jwt-signing-key.json (private, mode 600) and <dir of --out>/jwks.json (public, for API_JWKS_FILE).
--token prints a token for one identity, signed with that key (iss API_JWT_ISSUER or ${JWT_DEV_ISSUER},
aud API_JWT_AUDIENCE or ${JWT_DEFAULT_AUDIENCE}, expiring after --ttl).`;

/** The local signing key: private JWK (mode 600) and the public JWKS the API reads. Created once. */
export async function ensureSigningKey(dir: string): Promise<{ privateFile: string; jwksFile: string; created: boolean }> {
  const privateFile = join(dir, 'jwt-signing-key.json');
  const jwksFile = join(dir, 'jwks.json');
  if (existsSync(privateFile) && existsSync(jwksFile)) return { privateFile, jwksFile, created: false };
  mkdirSync(dir, { recursive: true });
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = `dev-${(await calculateJwkThumbprint(publicJwk)).slice(0, 16)}`;
  const meta = { kid, alg: 'EdDSA', use: 'sig' };
  writeFileSync(privateFile, JSON.stringify({ ...(await exportJWK(privateKey)), ...meta }, null, 2), { mode: 0o600 });
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...publicJwk, ...meta }] }, null, 2));
  return { privateFile, jwksFile, created: true };
}

/** A token for one identity, signed with the local key. */
export async function devToken(
  identity: Person,
  privateJwk: JWK,
  options: { ttl?: string; issuer?: string; audience?: string } = {},
): Promise<string> {
  const key = await importJWK(privateJwk, 'EdDSA');
  return new SignJWT({
    agency: identity.agency,
    role: identity.role,
    ...(identity.organisation ? { organisation: identity.organisation } : {}),
    ...(identity.jurisdiction ? { jurisdiction: identity.jurisdiction } : {}),
  })
    .setProtectedHeader({ alg: 'EdDSA', kid: String(privateJwk.kid), typ: 'JWT' })
    .setSubject(identity.id)
    .setIssuer(options.issuer ?? JWT_DEV_ISSUER)
    .setAudience(options.audience ?? JWT_DEFAULT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.ttl ?? '15m')
    .sign(key);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, keys: { type: 'string' }, token: { type: 'string' }, ttl: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const home = process.env['STACK_HOME'] || '.stack';
  const out = values.out ?? join(home, 'identities.json');
  const keysFile = values.keys ?? join(dirname(out), 'api-keys.json');

  if (values.token !== undefined) {
    const privateFile = join(dirname(out), 'jwt-signing-key.json');
    if (!existsSync(privateFile)) throw new Error(`no signing key at ${privateFile}: run 'npm start' (or this script without --token) first`);
    const known = existsSync(out) ? IdentitiesFile.parse(JSON.parse(readFileSync(out, 'utf8'))).identities : people;
    const identity = known.find((i) => i.id === values.token);
    if (!identity) throw new Error(`--token: no identity "${values.token}" (known: ${known.map((i) => i.id).join(', ')})`);
    const token = await devToken(identity, JSON.parse(readFileSync(privateFile, 'utf8')) as JWK, {
      ...(values.ttl ? { ttl: values.ttl } : {}),
      ...(process.env['API_JWT_ISSUER'] ? { issuer: process.env['API_JWT_ISSUER'] } : {}),
      ...(process.env['API_JWT_AUDIENCE'] ? { audience: process.env['API_JWT_AUDIENCE'] } : {}),
    });
    process.stdout.write(`${token}\n`);
    return;
  }

  const signing = await ensureSigningKey(dirname(out));
  if (signing.created) console.log(`identities: wrote a token-signing key (${signing.privateFile}, mode 600) and its public JWKS (${signing.jwksFile})`);
  if (existsSync(out)) {
    const added = upgrade(out, keysFile);
    console.log(`identities: ${out} exists (development API keys in ${keysFile})${added ? `; ${added}` : ''}`);
    return;
  }
  const keys: Record<string, string> = {};
  const identities: Identity[] = people.map((p) => {
    const key = `dev_${p.id}_${randomBytes(18).toString('base64url')}`;
    keys[p.id] = key;
    return { ...p, keySha256: sha256Hex(key) };
  });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ identities }, null, 2));
  writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  console.log(`identities: wrote ${identities.length} development identities to ${out}; their API keys are in ${keysFile}`);
}

/**
 * A file from before committees had jurisdictions: gives its committee identities theirs and adds
 * the identities it lacks (with keys of their own); every other identity and key stays as it was.
 */
function upgrade(out: string, keysFile: string): string | undefined {
  const file = IdentitiesFile.parse(JSON.parse(readFileSync(out, 'utf8')));
  const keys = existsSync(keysFile) ? (JSON.parse(readFileSync(keysFile, 'utf8')) as Record<string, string>) : {};
  let placed = 0;
  let added = 0;
  for (const p of people) {
    const known = file.identities.find((i) => i.id === p.id);
    if (known && !known.jurisdiction && p.jurisdiction && known.agency === p.agency) {
      known.jurisdiction = p.jurisdiction;
      placed += 1;
    } else if (!known) {
      const key = `dev_${p.id}_${randomBytes(18).toString('base64url')}`;
      keys[p.id] = key;
      file.identities.push({ ...p, keySha256: sha256Hex(key) });
      added += 1;
    }
  }
  if (placed === 0 && added === 0) return undefined;
  writeFileSync(out, JSON.stringify(file, null, 2));
  if (added > 0) writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return `gave ${placed} committee identities their jurisdiction and added ${added} identities`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(`dev-identities: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
