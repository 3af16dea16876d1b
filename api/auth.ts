import { createHash, timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { ApiRole, Identity } from '../config/identities.js';
import type { Actor } from '../workflows/actions.js';

/** Who is calling: an agency officer, supervisor, operator, admin, or a partner organisation. */
export interface Principal {
  id: string;
  agency: string;
  role: ApiRole;
  organisation?: string;
  via: 'api-key' | 'jwt';
}

export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: 'UNAUTHENTICATED' | 'INVALID_CREDENTIALS' | 'TOKEN_EXPIRED',
    message: string,
  ) {
    super(message);
  }
}

export interface AuthSettings {
  identities: Identity[];
  /** HS256 secret for signed JWTs; without it only API keys are accepted. */
  jwtSecret?: Uint8Array;
  jwtIssuer?: string;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * Authenticates `Authorization: Bearer <API key or JWT>` (or `X-Api-Key`). API keys are compared by
 * their SHA-256 in constant time; JWTs must be signed with the configured secret, unexpired, and
 * carry `agency` and `role` claims.
 */
export function createAuthenticator(settings: AuthSettings) {
  const byHash = settings.identities.map((i) => ({ identity: i, hash: Buffer.from(i.keySha256, 'hex') }));
  return async function authenticate(headers: Record<string, string | string[] | undefined>): Promise<Principal> {
    const token = bearer(headers);
    if (!token) throw new AuthError('UNAUTHENTICATED', 'authorization: send "Authorization: Bearer <API key or token>"');
    if (token.split('.').length === 3) return verifyJwt(token, settings);
    const hash = Buffer.from(sha256Hex(token), 'hex');
    let match: Identity | undefined;
    for (const candidate of byHash) if (timingSafeEqual(candidate.hash, hash)) match = candidate.identity;
    if (!match) throw new AuthError('INVALID_CREDENTIALS', 'authorization: unknown API key');
    return { id: match.id, agency: match.agency, role: match.role, ...(match.organisation ? { organisation: match.organisation } : {}), via: 'api-key' };
  };
}

function bearer(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers['authorization'];
  const value = Array.isArray(auth) ? auth[0] : auth;
  if (value?.toLowerCase().startsWith('bearer ')) return value.slice(7).trim() || undefined;
  const key = headers['x-api-key'];
  return (Array.isArray(key) ? key[0] : key)?.trim() || undefined;
}

async function verifyJwt(token: string, settings: AuthSettings): Promise<Principal> {
  if (!settings.jwtSecret) throw new AuthError('INVALID_CREDENTIALS', 'authorization: tokens are not accepted here; use an API key');
  try {
    const { payload } = await jwtVerify(token, settings.jwtSecret, {
      algorithms: ['HS256'],
      audience: 'referral-engine',
      ...(settings.jwtIssuer ? { issuer: settings.jwtIssuer } : {}),
    });
    const role = payload['role'];
    const agency = payload['agency'];
    if (typeof payload.sub !== 'string' || typeof agency !== 'string' || !['officer', 'supervisor', 'operator', 'partner', 'admin'].includes(String(role))) {
      throw new AuthError('INVALID_CREDENTIALS', 'authorization: the token lacks sub, agency or a valid role');
    }
    const organisation = typeof payload['organisation'] === 'string' ? payload['organisation'] : undefined;
    return { id: payload.sub, agency, role: role as ApiRole, ...(organisation ? { organisation } : {}), via: 'jwt' };
  } catch (err) {
    if (err instanceof AuthError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new AuthError('TOKEN_EXPIRED', 'authorization: the token has expired');
    throw new AuthError('INVALID_CREDENTIALS', 'authorization: the token is not valid');
  }
}

/** The workflows' actor for an authenticated caller: actions are always attributed to who called. */
export function actorOf(principal: Principal): Actor {
  return {
    actorId: principal.id,
    agency: principal.agency,
    role: principal.role.toUpperCase() as Actor['role'],
    ...(principal.organisation ? { organisation: principal.organisation } : {}),
  };
}
