import { pino, type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';

/**
 * Paths pino removes from every log line. Personal data lives under `persons` and secrets under
 * key names; redacting them here means a careless log call still cannot leak them. These reach a
 * fixed depth (pino's paths have no recursive wildcard): createLogger also applies redactDeep,
 * which finds the same keys at every depth.
 */
export const redactPaths = [
  'persons',
  '*.persons',
  '*.*.persons',
  'referral.persons',
  'victims',
  '*.victims',
  'contact',
  '*.name',
  '*.contact',
  '*.health',
  '*.documents',
  '*[*].name',
  '*[*].contact',
  '*[*].health',
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'headers.cookie',
  '*.headers.cookie',
  'key',
  '*.secret',
];

export const CENSOR = '[redacted]';

/** Keys censored wherever they appear (compared in lower case: header names come in any case). */
const SECRET_KEYS = new Set([
  'persons',
  'victims',
  'contact',
  'health',
  'documents',
  'password',
  'passphrase',
  'secret',
  'apikey',
  'api_key',
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'cookie',
  'set-cookie',
  'token',
  'accesstoken',
  'access_token',
  'refreshtoken',
  'refresh_token',
  'privatekey',
  'private_key',
]);
/** Censored below the top level only: a person's `name` (the top-level `name` is the logger's). */
const NESTED_SECRET_KEYS = new Set(['name']);
const MAX_DEPTH = 12;

/**
 * The object with every secret or personal key censored at any depth, arrays and nested objects
 * included, and the own fields of errors. The
 * object logged is never modified: what changes is copied, the rest is shared.
 */
export function redactDeep<T>(value: T): T {
  return scrub(value, 0, new WeakSet()) as T;
}

function scrub(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value) || value instanceof Date) return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) {
      // Still an error of its class (pino's err serializer names its type), with its own fields scrubbed.
      const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>;
      for (const key of Object.getOwnPropertyNames(value)) {
        const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
        if ('value' in descriptor) {
          const secret = SECRET_KEYS.has(key.toLowerCase());
          descriptor.value = secret ? CENSOR : key === 'stack' || key === 'message' ? descriptor.value : scrub(descriptor.value, depth + 1, seen);
        }
        Object.defineProperty(copy, key, descriptor);
      }
      return copy;
    }
    if (Array.isArray(value)) {
      let out: unknown[] | undefined;
      value.forEach((item, i) => {
        const next = scrub(item, depth + 1, seen);
        if (next !== item) (out ??= [...value])[i] = next;
      });
      return out ?? value;
    }
    // Class instances with a toJSON (KeyRing, Long, ...) say themselves what may be logged.
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function' && Object.getPrototypeOf(value) !== Object.prototype) {
      return scrub((value as { toJSON(): unknown }).toJSON(), depth, seen);
    }
    let out: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const lower = key.toLowerCase();
      const secret = SECRET_KEYS.has(lower) || (depth > 0 && NESTED_SECRET_KEYS.has(lower));
      const next = secret ? (item === undefined ? item : CENSOR) : scrub(item, depth + 1, seen);
      if (next !== item) (out ??= { ...(value as Record<string, unknown>) })[key] = next;
    }
    return out ?? value;
  } finally {
    seen.delete(value);
  }
}

export interface LoggerOptions {
  level: string;
  pretty?: boolean;
  name?: string;
  /** Where lines go (tests); default stdout. */
  destination?: DestinationStream;
}

/** Redaction for any pino logger of the engine: the fixed paths and the deep scrub, on log calls and on child bindings. */
export const redaction: Pick<PinoOptions, 'redact' | 'formatters'> = {
  redact: { paths: redactPaths, censor: CENSOR },
  formatters: {
    log: (object) => redactDeep(object),
    bindings: (bindings) => redactDeep(bindings),
  },
};

export function createLogger(options: LoggerOptions): Logger {
  const settings: PinoOptions = {
    name: options.name ?? 'referral-engine',
    level: options.level,
    ...redaction,
    ...(options.pretty && !options.destination ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
