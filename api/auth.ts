import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions, type ProtectedHeaderParameters } from 'jose';
import { ApiRole, type Identity } from '../config/identities.js';
import { AgencyCode } from '../schemas/common.js';
import { Jurisdiction, jurisdictionProblem } from '../schemas/jurisdiction.js';
import type { Actor } from '../workflows/actions.js';

/** Who is calling: an agency officer, supervisor, operator, admin, or a partner organisation. */
export interface Principal {
  id: string;
  agency: string;
  role: ApiRole;
  organisation?: string;
  /** Where a committee acts (a district committee: province and district; a provincial one: province). */
  jurisdiction?: Jurisdiction;
  via: 'api-key' | 'jwt';
}

/** Why a credential was refused: each is a 401 (503 when the signing keys cannot be had) with this code. */
export type AuthErrorCode =
  | 'UNAUTHENTICATED'
  | 'INVALID_CREDENTIALS'
  | 'TOKEN_NOT_ACCEPTED'
  | 'TOKEN_MALFORMED'
  | 'TOKEN_ALG'
  | 'TOKEN_KID_MISSING'
  | 'TOKEN_KID_UNKNOWN'
  | 'TOKEN_SIGNATURE'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'TOKEN_TOO_OLD'
  | 'TOKEN_ISSUER'
  | 'TOKEN_AUDIENCE'
  | 'TOKEN_CLAIM'
  | 'TOKEN_KEYS_UNAVAILABLE';

export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    readonly status: 401 | 503 = 401,
  ) {
    super(message);
  }
}

/** The asymmetric algorithms accepted from a JWKS. */
export const JWKS_ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;

export interface JwtSettings {
  /** Public keys picked by the token's `kid`: a JWKS file (api/jwks-file.ts) or jose's createRemoteJWKSet. */
  keys?: JWTVerifyGetKey;
  /** Development only (API_JWT_ALLOW_HS256): HS256 tokens signed with this shared secret. */
  hs256Secret?: Uint8Array;
  /** Required `iss`. */
  issuer: string;
  /** Required `aud` (one of). */
  audience: string;
  /** Maximum age of a token from its `iat` (then required), in seconds. */
  maxAgeSeconds?: number;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. */
  clockToleranceSeconds?: number;
  /** Partner organisations a partner token may name; absent: any well-formed code. */
  knownOrganisations?: readonly string[];
}

export interface AuthSettings {
  identities: Identity[];
  /** Signed tokens (JWT); without it only API keys are accepted. */
  jwt?: JwtSettings;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * Authenticates `Authorization: Bearer <API key or JWT>` (or `X-Api-Key`). API keys are compared by
 * their SHA-256 in constant time. Tokens are verified with jose: signed (EdDSA, ES256 or RS256 by
 * the `kid` of a configured JWKS; HS256 only with the development switch), with `exp`, `iss` and
 * `aud` required and checked, `nbf`, maximum age and clock tolerance applied, and `sub`, `agency`,
 * `role` (and a partner's `organisation`) checked against the known lists. Every refusal names
 * its reason in its code.
 */
export function createAuthenticator(settings: AuthSettings) {
  const byHash = settings.identities.map((i) => ({ identity: i, hash: Buffer.from(i.keySha256, 'hex') }));
  return async function authenticate(headers: Record<string, string | string[] | undefined>): Promise<Principal> {
    const token = bearer(headers);
    if (!token) throw new AuthError('UNAUTHENTICATED', 'authorization: send "Authorization: Bearer <API key or token>"');
    if (token.split('.').length === 3) return verifyJwt(token, settings.jwt);
    const hash = Buffer.from(sha256Hex(token), 'hex');
    let match: Identity | undefined;
    for (const candidate of byHash) if (timingSafeEqual(candidate.hash, hash)) match = candidate.identity;
    if (!match) throw new AuthError('INVALID_CREDENTIALS', 'authorization: unknown API key');
    return {
      id: match.id,
      agency: match.agency,
      role: match.role,
      ...(match.organisation ? { organisation: match.organisation } : {}),
      ...(match.jurisdiction ? { jurisdiction: match.jurisdiction } : {}),
      via: 'api-key',
    };
  };
}

function bearer(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers['authorization'];
  const value = Array.isArray(auth) ? auth[0] : auth;
  if (value?.toLowerCase().startsWith('bearer ')) return value.slice(7).trim() || undefined;
  const key = headers['x-api-key'];
  return (Array.isArray(key) ? key[0] : key)?.trim() || undefined;
}

const ORGANISATION = /^[A-Z0-9][A-Z0-9_-]{1,39}$/;

async function verifyJwt(token: string, jwt: JwtSettings | undefined): Promise<Principal> {
  if (!jwt) throw new AuthError('TOKEN_NOT_ACCEPTED', 'authorization: tokens are not accepted here; use an API key');
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new AuthError('TOKEN_MALFORMED', 'authorization: the token is not a JWS (header unreadable)');
  }
  const alg = typeof header.alg === 'string' ? header.alg : '';
  if (alg.toLowerCase() === 'none' || alg === '') throw new AuthError('TOKEN_ALG', 'authorization: the token is unsigned (alg none)');
  const options: JWTVerifyOptions = {
    issuer: jwt.issuer,
    audience: jwt.audience,
    requiredClaims: ['exp', 'sub'],
    clockTolerance: jwt.clockToleranceSeconds ?? 0,
    ...(jwt.maxAgeSeconds !== undefined ? { maxTokenAge: jwt.maxAgeSeconds } : {}),
  };
  let payload: JWTPayload;
  try {
    if (alg === 'HS256') {
      if (!jwt.hs256Secret) throw new AuthError('TOKEN_ALG', 'authorization: HS256 tokens are accepted only in development (API_JWT_ALLOW_HS256); sign with EdDSA, ES256 or RS256');
      ({ payload } = await jwtVerify(token, jwt.hs256Secret, { ...options, algorithms: ['HS256'] }));
    } else if ((JWKS_ALGORITHMS as readonly string[]).includes(alg)) {
      if (!jwt.keys) throw new AuthError('TOKEN_NOT_ACCEPTED', `authorization: no signing keys are configured for ${alg} tokens (API_JWKS_FILE or API_JWKS_URL)`);
      if (typeof header.kid !== 'string' || header.kid === '') throw new AuthError('TOKEN_KID_MISSING', 'authorization: the token header has no kid naming its signing key');
      ({ payload } = await jwtVerify(token, jwt.keys, { ...options, algorithms: [...JWKS_ALGORITHMS] }));
    } else {
      throw new AuthError('TOKEN_ALG', `authorization: tokens must be signed with ${JWKS_ALGORITHMS.join(', ')}`);
    }
  } catch (err) {
    throw refusal(err);
  }
  return principalOf(payload, jwt);
}

/** jose's errors as precise refusals; never the token or its claims' values. */
function refusal(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof joseErrors.JWTExpired) {
    return err.claim === 'iat'
      ? new AuthError('TOKEN_TOO_OLD', 'authorization: the token is older than the maximum token age (API_JWT_MAX_AGE)')
      : new AuthError('TOKEN_EXPIRED', 'authorization: the token has expired');
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const { claim, reason } = err;
    const missing = reason === 'missing';
    if (claim === 'iss') return new AuthError('TOKEN_ISSUER', `authorization: the token ${missing ? 'names no issuer (iss)' : 'is from another issuer than API_JWT_ISSUER'}`);
    if (claim === 'aud') return new AuthError('TOKEN_AUDIENCE', `authorization: the token ${missing ? 'names no audience (aud)' : 'is for another audience than API_JWT_AUDIENCE'}`);
    if (missing) return new AuthError('TOKEN_CLAIM', `authorization: the token has no "${claim}" claim${claim === 'iat' ? ' (required by the maximum token age)' : ''}`);
    if (claim === 'nbf' && reason === 'check_failed') return new AuthError('TOKEN_NOT_YET_VALID', 'authorization: the token is not valid yet (nbf)');
    if (claim === 'iat' && reason === 'check_failed') return new AuthError('TOKEN_NOT_YET_VALID', 'authorization: the token was issued in the future (iat)');
    return new AuthError('TOKEN_CLAIM', `authorization: the token's "${claim}" claim is invalid`);
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new AuthError('TOKEN_KID_UNKNOWN', "authorization: no signing key with the token's kid (and alg)");
  if (err instanceof joseErrors.JWKSMultipleMatchingKeys) return new AuthError('TOKEN_KID_UNKNOWN', "authorization: more than one signing key has the token's kid");
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new AuthError('TOKEN_SIGNATURE', 'authorization: the token signature does not verify');
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) {
    return new AuthError('TOKEN_ALG', `authorization: the token's alg does not fit its key; tokens must be signed with ${JWKS_ALGORITHMS.join(', ')}`);
  }
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid || err instanceof JwksUnavailable) {
    return new AuthError('TOKEN_KEYS_UNAVAILABLE', 'authorization: the signing keys cannot be loaded right now; try again', 503);
  }
  if (err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid) return new AuthError('TOKEN_MALFORMED', 'authorization: the token is malformed');
  // The JWKS endpoint answered other than 200 OK.
  if (err instanceof joseErrors.JOSEError && /JSON Web Key Set/.test(err.message)) {
    return new AuthError('TOKEN_KEYS_UNAVAILABLE', 'authorization: the signing keys cannot be loaded right now; try again', 503);
  }
  if (err instanceof joseErrors.JOSEError) return new AuthError('INVALID_CREDENTIALS', 'authorization: the token is not valid');
  // A remote JWKS that cannot be fetched (network) is the server's problem, not the caller's.
  if (err instanceof Error && /fetch|ECONN|ENOTFOUND|network/i.test(`${err.name} ${err.message}`)) {
    return new AuthError('TOKEN_KEYS_UNAVAILABLE', 'authorization: the signing keys cannot be loaded right now; try again', 503);
  }
  return new AuthError('INVALID_CREDENTIALS', 'authorization: the token is not valid');
}

/** Thrown by a key source that has no usable key set (e.g. a JWKS file unreadable since start). */
export class JwksUnavailable extends Error {
  override readonly name = 'JwksUnavailable';
}

function principalOf(payload: JWTPayload, jwt: JwtSettings): Principal {
  const claim = (name: string, why: string) => new AuthError('TOKEN_CLAIM', `authorization: ${name}: ${why}`);
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 100) throw claim('sub', 'expected an identity id of 1-100 characters');
  const agency = AgencyCode.safeParse(payload['agency']);
  if (!agency.success) throw claim('agency', `expected one of the known agency codes (${AgencyCode.options.join(', ')})`);
  const role = ApiRole.safeParse(payload['role']);
  if (!role.success) throw claim('role', `expected one of ${ApiRole.options.join(', ')}`);
  if ((role.data === 'partner') !== (agency.data === 'PARTNER')) throw claim(role.data === 'partner' ? 'agency' : 'role', 'a partner token has agency PARTNER and role partner, and only a partner token has them');
  let organisation: string | undefined;
  if (role.data === 'partner') {
    const org = payload['organisation'];
    if (typeof org !== 'string' || !ORGANISATION.test(org)) throw claim('organisation', 'a partner token names its organisation (its code, e.g. IOM)');
    if (jwt.knownOrganisations && !jwt.knownOrganisations.includes(org)) throw claim('organisation', 'not a known partner organisation');
    organisation = org;
  }
  let jurisdiction: Jurisdiction | undefined;
  if (payload['jurisdiction'] !== undefined) {
    const parsed = Jurisdiction.safeParse(payload['jurisdiction']);
    if (!parsed.success) throw claim('jurisdiction', 'expected { province, district? } with a known province and one of its district codes');
    jurisdiction = parsed.data;
  }
  const problem = jurisdictionProblem(agency.data, jurisdiction);
  if (problem) throw claim('jurisdiction', problem);
  return { id: sub, agency: agency.data, role: role.data, ...(organisation ? { organisation } : {}), ...(jurisdiction ? { jurisdiction } : {}), via: 'jwt' };
}

/** The workflows' actor for an authenticated caller: actions are always attributed to who called. */
export function actorOf(principal: Principal): Actor {
  return {
    actorId: principal.id,
    agency: principal.agency,
    role: principal.role.toUpperCase() as Actor['role'],
    ...(principal.organisation ? { organisation: principal.organisation } : {}),
    ...(principal.jurisdiction ? { jurisdiction: { ...principal.jurisdiction } } : {}),
  };
}
