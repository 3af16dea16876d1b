import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from '../api/auth.js';

/**
 * Sign-in sessions of the codec server, for the Web UI: the browser holds a random id in an
 * HttpOnly cookie and sends it with every codec request (the UI's "Include cross-origin
 * credentials"). Kept in memory only, keyed by the id's SHA-256: a restart signs everyone out.
 */
export const SESSION_COOKIE = 'codec_session';

export interface CodecSession {
  principal: Principal;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface SessionStore {
  /** A new session for the principal, ending after the TTL or at `notAfter` (a token's `exp`), whichever is first. */
  create(principal: Principal, notAfter?: number): { id: string; session: CodecSession };
  get(id: string): CodecSession | undefined;
  delete(id: string): boolean;
  readonly size: number;
}

export function createSessionStore(options: { ttlMs: number; maxSessions?: number; now?: () => number }): SessionStore {
  const now = options.now ?? Date.now;
  const max = options.maxSessions ?? 10_000;
  const sessions = new Map<string, CodecSession>();
  const keyOf = (id: string) => createHash('sha256').update(id, 'utf8').digest('base64url');
  const sweep = () => {
    const t = now();
    for (const [key, s] of sessions) if (s.expiresAt <= t) sessions.delete(key);
    // Still full: the oldest sign-ins go first.
    while (sessions.size >= max) sessions.delete(sessions.keys().next().value!);
  };
  return {
    create(principal, notAfter) {
      sweep();
      const id = randomBytes(32).toString('base64url');
      const session = { principal, expiresAt: Math.min(now() + options.ttlMs, notAfter ?? Number.POSITIVE_INFINITY) };
      sessions.set(keyOf(id), session);
      return { id, session };
    },
    get(id) {
      const key = keyOf(id);
      const session = sessions.get(key);
      if (session && session.expiresAt <= now()) {
        sessions.delete(key);
        return undefined;
      }
      return session;
    },
    delete(id) {
      return sessions.delete(keyOf(id));
    },
    get size() {
      return sessions.size;
    },
  };
}

/** The value of one cookie of a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** Set-Cookie for a session (Max-Age 0 clears it): HttpOnly, SameSite=Strict, only on the codec paths. */
export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/codec; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}${secure ? '; Secure' : ''}`;
}
