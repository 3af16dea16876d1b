import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config/errors.js';
import { KEY_BYTES, KEY_ID_PATTERN, KeyRing } from './aes-gcm-codec.js';

/**
 * Where the payload keys come from (config/env.ts builds it from the environment):
 * - `PAYLOAD_KEYS=k2:<base64>,k1:<base64>` (active: `PAYLOAD_ACTIVE_KEY`, else the first), or
 * - a JSON file `{ "active": "k2", "keys": { "k2": "<base64>", "k1": "<base64>" } }` named by
 *   `PAYLOAD_KEYS_FILE`, by default `<repo>/.stack/payload-keys.json`, which
 *   `scripts/stack.sh install` generates for local development.
 */
export type PayloadKeysConfig =
  | { source: 'PAYLOAD_KEYS'; keyRing: KeyRing }
  | { source: 'PAYLOAD_KEYS_FILE'; file: string; isDefault: boolean; activeKeyId?: string };

export const defaultPayloadKeysFile = fileURLToPath(new URL('../.stack/payload-keys.json', import.meta.url));

const BASE64 = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+)$/;

/** Decodes one key; on failure, a problem that never repeats the key's text. */
export function decodeKey(text: string): Buffer | string {
  const trimmed = text.trim();
  if (!BASE64.test(trimmed)) return `is not base64 (expected ${KEY_BYTES} random bytes, e.g. from 'openssl rand -base64 ${KEY_BYTES}')`;
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) return `is not ${KEY_BYTES} bytes of base64 (it decodes to ${key.length} bytes)`;
  return key;
}

export interface ParsedKeyList {
  keys: Array<[string, Buffer]>;
  /** Each problem names the entry or key id at fault, never the key. */
  problems: string[];
}

/** Parses `PAYLOAD_KEYS`: a comma-separated list of `id:base64key`. */
export function parseKeyList(value: string): ParsedKeyList {
  const keys: Array<[string, Buffer]> = [];
  const problems: string[] = [];
  const entries = value.split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) problems.push('expected a comma-separated list of id:base64key');
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    if (colon <= 0) {
      problems.push(`entry ${i + 1} is not id:base64key`);
      return;
    }
    const id = entry.slice(0, colon).trim();
    if (!KEY_ID_PATTERN.test(id)) {
      problems.push(`entry ${i + 1}: the key id is invalid (use 1-64 of A-Z a-z 0-9 . _ -)`);
      return;
    }
    if (keys.some(([k]) => k === id)) {
      problems.push(`key id "${id}" appears twice`);
      return;
    }
    const key = decodeKey(entry.slice(colon + 1));
    if (typeof key === 'string') problems.push(`key "${id}" ${key}`);
    else keys.push([id, key]);
  });
  return { keys, problems };
}

/** Key ids of a `PAYLOAD_KEYS` value, read without decoding any key (for cross-checks). */
export function keyIdsOf(value: string): string[] {
  return value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.indexOf(':') > 0)
    .map((e) => e.slice(0, e.indexOf(':')).trim());
}

/**
 * Builds the key ring the engine encrypts and decrypts payloads with. Throws a ConfigError
 * naming the variable (and key id) at fault; no message ever contains key material.
 */
export function loadKeyRing(config: PayloadKeysConfig): KeyRing {
  if (config.source === 'PAYLOAD_KEYS') return config.keyRing;
  const { file } = config;
  const where = config.isDefault ? `PAYLOAD_KEYS_FILE (default ${file})` : `PAYLOAD_KEYS_FILE (${file})`;
  if (!existsSync(file)) {
    if (config.isDefault) {
      throw new ConfigError('payload key configuration', [
        `no payload encryption key is configured: set PAYLOAD_KEYS (id:base64key,...) or PAYLOAD_KEYS_FILE, ` +
          `or run 'npm run stack -- install' to generate ${file} for local development`,
      ]);
    }
    throw new ConfigError('payload key configuration', [`${where}: the file does not exist`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const reason = err instanceof SyntaxError ? 'is not valid JSON' : `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    throw new ConfigError('payload key configuration', [`${where}: the file ${reason}`]);
  }
  const problems: string[] = [];
  const keys: Array<[string, Buffer]> = [];
  const obj = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  const rawKeys = obj?.['keys'];
  if (!obj) problems.push(`${where}: expected an object { "active": "<id>", "keys": { "<id>": "<base64>" } }`);
  else if (typeof rawKeys !== 'object' || rawKeys === null || Array.isArray(rawKeys) || Object.keys(rawKeys).length === 0) {
    problems.push(`${where}: keys: expected an object of at least one "<id>": "<base64 key>"`);
  } else {
    for (const [id, value] of Object.entries(rawKeys as Record<string, unknown>)) {
      if (!KEY_ID_PATTERN.test(id)) {
        problems.push(`${where}: keys: a key id is invalid (use 1-64 of A-Z a-z 0-9 . _ -)`);
        continue;
      }
      const key = typeof value === 'string' ? decodeKey(value) : 'is not a string';
      if (typeof key === 'string') problems.push(`${where}: keys.${id}: key "${id}" ${key}`);
      else keys.push([id, key]);
    }
  }
  const fileActive = obj?.['active'];
  if (obj && fileActive !== undefined && (typeof fileActive !== 'string' || !KEY_ID_PATTERN.test(fileActive))) {
    problems.push(`${where}: active: expected a key id`);
  }
  if (problems.length > 0) throw new ConfigError('payload key configuration', problems);
  const active = config.activeKeyId ?? (typeof fileActive === 'string' ? fileActive : keys[0]![0]);
  if (!keys.some(([id]) => id === active)) {
    const by = config.activeKeyId ? 'PAYLOAD_ACTIVE_KEY' : `${where}: active`;
    throw new ConfigError('payload key configuration', [`${by}: there is no key "${active}" in ${file} (ids: ${keys.map(([id]) => id).join(', ')})`]);
  }
  return new KeyRing(active, keys);
}
