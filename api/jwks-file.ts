import { readFileSync, statSync } from 'node:fs';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../config/errors.js';
import { JwksUnavailable } from './auth.js';

/** JWK members only a private (or symmetric) key has: never in a verification key set. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];
const KEY_TYPES = ['OKP', 'EC', 'RSA'];

/** What is wrong with a JWKS document (each problem names the key by index and kid), or nothing. */
export function jwksProblems(json: unknown): string[] {
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (typeof json !== 'object' || json === null || !Array.isArray(keys)) return ['expected a JSON Web Key Set { "keys": [ ... ] }'];
  if (keys.length === 0) return ['keys: expected at least one public key'];
  const problems: string[] = [];
  const kids = new Set<string>();
  keys.forEach((key: unknown, i) => {
    const k = (typeof key === 'object' && key !== null ? key : {}) as Record<string, unknown>;
    const where = `keys.${i}`;
    if (typeof k['kid'] !== 'string' || k['kid'] === '') problems.push(`${where}.kid: every key needs a kid (tokens pick their key by it)`);
    else if (kids.has(k['kid'])) problems.push(`${where}.kid: "${k['kid']}" appears twice`);
    else kids.add(k['kid']);
    if (!KEY_TYPES.includes(String(k['kty']))) problems.push(`${where}.kty: expected OKP (Ed25519), EC (P-256) or RSA`);
    if (PRIVATE_MEMBERS.some((m) => m in k)) problems.push(`${where}: holds private key material; publish only the public key`);
  });
  return problems;
}

export interface JwksFileKeys {
  /** For jwtVerify: the key the token's `kid` names, from the file as it is now. */
  getKey: JWTVerifyGetKey;
  /** The kids of the set in use. */
  kids(): string[];
}

/**
 * Verification keys from a JWKS file (`API_JWKS_FILE`), re-read whenever the file changes (its
 * inode, size or modification time), so keys rotate without a restart: add the new key, start
 * signing with it, remove the old one later. Read and checked once here: a missing or bad file is
 * a ConfigError naming the variable. A later bad version (half-written, say) is reported through
 * `onProblem` and the last good set stays in use.
 */
export function jwksFileKeys(file: string, onProblem: (message: string) => void = () => undefined, variable = 'API_JWKS_FILE'): JwksFileKeys {
  let stamp = '';
  let current: { set: ReturnType<typeof createLocalJWKSet>; kids: string[] } | undefined;

  const load = (): { set: ReturnType<typeof createLocalJWKSet>; kids: string[] } | string[] => {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      return [err instanceof SyntaxError ? 'the file is not valid JSON' : `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`];
    }
    const problems = jwksProblems(json);
    if (problems.length > 0) return problems;
    const jwks = json as JSONWebKeySet;
    return { set: createLocalJWKSet(jwks), kids: jwks.keys.map((k) => String(k.kid)) };
  };

  const stampOf = (): string | undefined => {
    try {
      const s = statSync(file);
      return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch {
      return undefined;
    }
  };

  const refresh = () => {
    const now = stampOf();
    if (now === undefined) {
      if (stamp !== 'missing') onProblem(`${variable} (${file}): the file is gone; keeping the last keys read`);
      stamp = 'missing';
      return;
    }
    if (now === stamp) return;
    stamp = now;
    const loaded = load();
    if (Array.isArray(loaded)) {
      onProblem(`${variable} (${file}): ${loaded.join('; ')}; keeping the last keys read`);
      return;
    }
    current = loaded;
  };

  stamp = stampOf() ?? 'missing';
  const first = load();
  if (Array.isArray(first)) throw new ConfigError(variable, first.map((p) => `${file}: ${p}`));
  current = first;

  return {
    getKey: async (header, token) => {
      refresh();
      if (!current) throw new JwksUnavailable(`${variable}: no key set`);
      return current.set(header, token);
    },
    kids: () => [...(current?.kids ?? [])],
  };
}
