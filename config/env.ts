import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, describeIssues } from './errors.js';
import type { TemporalConnectionConfig } from './temporal-connection.js';
import { JWT_DEFAULT_AUDIENCE, JWT_DEV_ISSUER } from './identities.js';
import { KEY_ID_PATTERN, KeyRing } from '../codec/aes-gcm-codec.js';
import { defaultPayloadKeysFile, keyIdsOf, parseKeyList, type PayloadKeysConfig } from '../codec/keys.js';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const defaultPolicyFile = fileURLToPath(new URL('./policy.json', import.meta.url));
export const defaultIdentitiesFile = fileURLToPath(new URL('../.stack/identities.json', import.meta.url));
/** What `npm run stack -- up` writes: the local CA the broker's certificate is signed by, and the development SCRAM passwords. */
export const defaultKafkaCaFile = fileURLToPath(new URL('../.stack/kafka-tls/ca.pem', import.meta.url));
export const defaultKafkaCredentialsFile = fileURLToPath(new URL('../.stack/kafka-credentials.json', import.meta.url));

/** The engine's own Kafka clients, each its own principal on the broker (config/kafka-access.json `engine`). */
export const KAFKA_CLIENTS = ['intake', 'actions', 'publisher', 'monitor', 'redrive', 'audit'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

/** KAFKA_<CLIENT>_USERNAME, _PASSWORD, _PASSWORD_FILE, _CERT_FILE, _KEY_FILE for each engine client. */
const kafkaClientVariables = Object.fromEntries(
  KAFKA_CLIENTS.flatMap((c) => {
    const v = `KAFKA_${c.toUpperCase()}`;
    return [
      [`${v}_USERNAME`, z.string().min(1).max(200).optional()],
      [`${v}_PASSWORD`, z.string().min(1).optional()],
      [`${v}_PASSWORD_FILE`, z.string().min(1).optional()],
      [`${v}_CERT_FILE`, z.string().min(1).optional()],
      [`${v}_KEY_FILE`, z.string().min(1).optional()],
    ];
  }),
) as Record<`KAFKA_${Uppercase<KafkaClientName>}_${'USERNAME' | 'PASSWORD' | 'PASSWORD_FILE' | 'CERT_FILE' | 'KEY_FILE'}`, z.ZodOptional<z.ZodString>>;

/**
 * Every environment variable the engine's processes read, with the embedded defaults that
 * match `npm run stack -- up`. Parsed once, in each process's composition root.
 */
export const EngineEnv = z.object({
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('referrals'),
  TEMPORAL_UI_URL: z.string().url().default('http://127.0.0.1:8233'),
  /** TLS to the Temporal frontend (config/temporal-connection.ts): the CA of its certificate, unset for Node's public CAs. */
  TEMPORAL_TLS_CA_FILE: z.string().min(1).optional(),
  /** Client certificate and key (PEM) for mTLS to a self-hosted frontend or Temporal Cloud; both or neither. */
  TEMPORAL_TLS_CERT_FILE: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_FILE: z.string().min(1).optional(),
  /** The name the frontend's certificate is checked against, when it differs from the host dialled. */
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  /** A Temporal Cloud API key (sent over TLS as a bearer token), or a file holding it; not both. */
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_API_KEY_FILE: z.string().min(1).optional(),
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(hostPort).min(1)),
  KAFKA_CLIENT_ID: z.string().min(1).default('referral-engine'),
  KAFKA_INTAKE_GROUP: z.string().min(1).default('referral-engine-intake'),
  /** Consumer group of the actions bridge (agencies' `referral.action.*.v1` events). */
  KAFKA_ACTIONS_GROUP: z.string().min(1).default('referral-engine-actions'),
  /** SASL_SSL (SCRAM or PLAIN over TLS), SSL (TLS; a client certificate makes it mTLS), or the development-only plaintext ones. */
  KAFKA_SECURITY_PROTOCOL: z.enum(['SASL_SSL', 'SSL', 'SASL_PLAINTEXT', 'PLAINTEXT']).default('SASL_SSL'),
  KAFKA_SASL_MECHANISM: z.enum(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN']).default('SCRAM-SHA-512'),
  /** PEM file of the CA(s) the brokers' certificates are signed by; unset: Node's public CAs (or the local stack's CA when present). */
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  /** TLS server name to verify, when the broker's certificate names another host than the address dialled. */
  KAFKA_SSL_SERVERNAME: z.string().min(1).optional(),
  /** JSON `{ "<principal>": "<password>" }`: passwords of the clients whose KAFKA_<CLIENT>_PASSWORD(_FILE) is unset. */
  KAFKA_CREDENTIALS_FILE: z.string().min(1).optional(),
  /** Who may write and read which topic (principals, per-agency topics): config/kafka-access.json. */
  KAFKA_ACCESS_FILE: z.string().min(1).optional(),
  /**
   * Also consume the single shared topics (`KAFKA_TOPIC_INTAKE`, `KAFKA_TOPIC_ACTIONS` themselves) and
   * trust the agency a message names. Only for a deployment whose integrations all trust each other.
   */
  KAFKA_SHARED_TOPICS: bool.default('false'),
  ...kafkaClientVariables,
  KAFKA_TOPIC_INTAKE: z.string().min(1).default('referrals.intake'),
  KAFKA_TOPIC_ACTIONS: z.string().min(1).default('referrals.actions'),
  KAFKA_TOPIC_DEAD_LETTER: z.string().min(1).default('referrals.dead-letter'),
  KAFKA_TOPIC_EVENTS: z.string().min(1).default('referrals.events'),
  /** The codec server's audit records (`referral.codec-audit.v1`): operators alone read them. */
  KAFKA_TOPIC_AUDIT: z.string().min(1).default('referrals.audit'),
  /** Notification topics are `<prefix><agency code in lower case>`, one per agency. */
  KAFKA_TOPIC_NOTIFY_PREFIX: z.string().min(1).default('referrals.notify.'),
  POLICY_FILE: z.string().min(1).default(defaultPolicyFile),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ENGINE_ROLES: z
    .string()
    .default('worker,bridge,codec,api')
    .transform((s) => s.split(',').map((r) => r.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['worker', 'bridge', 'codec', 'api'])).min(1)),
  /** HTTP API, operator console and partner page, and /metrics. */
  API_PORT: z.coerce.number().int().min(1).max(65_535).default(8080),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  /** Hashed API keys of agency and partner identities (`npm start` writes development ones). */
  API_IDENTITIES_FILE: z.string().min(1).default(defaultIdentitiesFile),
  /** Public keys (a JWKS file, re-read when it changes) that verify EdDSA, ES256 and RS256 tokens by their kid. */
  API_JWKS_FILE: z
    .string()
    .min(1)
    .refine((file) => existsSync(file), 'no such file (npm start writes .stack/jwks.json)')
    .optional(),
  /** Or the identity provider's JWKS endpoint (https, or http on loopback). */
  API_JWKS_URL: z
    .string()
    .url()
    .refine((u) => { const url = new URL(u); return url.protocol === 'https:' || (url.protocol === 'http:' && loopbackHosts.has(url.hostname.replace(/^\[|\]$/g, ''))); }, 'expected an https URL (http only on loopback)')
    .optional(),
  /** Required `iss` of tokens; default: the development issuer of scripts/dev-identities.ts (set it with API_JWKS_URL). */
  API_JWT_ISSUER: z.string().min(1).optional(),
  /** Required `aud` of tokens. */
  API_JWT_AUDIENCE: z.string().min(1).default(JWT_DEFAULT_AUDIENCE),
  /** Maximum token age from its `iat` (then required), in seconds; unset: `exp` alone bounds a token. */
  API_JWT_MAX_AGE: z.coerce.number().int().min(1).max(31_536_000).optional(),
  /** Leeway for exp, nbf and iat between the issuer's clock and ours, in seconds. */
  API_JWT_CLOCK_TOLERANCE: z.coerce.number().int().min(0).max(300).default(30),
  /** Development only: HS256 tokens with this shared secret; needs API_JWT_ALLOW_HS256=true. */
  API_JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /** The explicit development switch for API_JWT_SECRET. */
  API_JWT_ALLOW_HS256: bool.default('false'),
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /** k of the HTCDS export: a cell (combination of the exported values) of fewer cases is withheld. */
  EXPORT_MIN_CELL: z.coerce.number().int('a whole number').min(2, 'at least 2 (1 would withhold nothing)').max(1000, 'at most 1000').default(5),
  /** One line the console's and partner page's sign-in card shows (npm start: where the development keys are). */
  API_SIGNIN_HINT: z.string().min(1).max(1000, 'at most 1,000 characters').optional(),
  /** Referrals the worker keeps cached in memory (~0.5 MB each measured): bounds the worker's RSS. */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(450),
  /**
   * A workflow bundle built ahead of time (`npm run bundle-workflows`, done by the image build):
   * the worker loads it instead of bundling workflows/ from source at every start.
   */
  WORKER_WORKFLOW_BUNDLE: z
    .string()
    .min(1)
    .refine((file) => existsSync(file), 'no such file (build it with: npm run bundle-workflows)')
    .optional(),
  /** Where the worker serves Temporal SDK metrics for Prometheus; empty string or 0 disables. */
  WORKER_METRICS_ADDRESS: z.union([hostPort, z.literal('0')]).default('127.0.0.1:9464'),
  /** `id:base64key,...` (32-byte AES keys); messages name the key id, never the key. */
  PAYLOAD_KEYS: z
    .string()
    .transform((s, ctx) => {
      const { keys, problems } = parseKeyList(s);
      for (const message of problems) ctx.addIssue({ code: z.ZodIssueCode.custom, message });
      return keys;
    })
    .optional(),
  PAYLOAD_ACTIVE_KEY: z.string().regex(KEY_ID_PATTERN, 'expected a key id (1-64 of A-Z a-z 0-9 . _ -)').optional(),
  /** JSON `{ "active": "<id>", "keys": { "<id>": "<base64>" } }`; default `<repo>/.stack/payload-keys.json`. */
  PAYLOAD_KEYS_FILE: z.string().min(1).optional(),
  /** Remote codec server for the Web UI and the CLI (`<host>:<port>/codec/{encode,decode}`); 0 disables it. */
  CODEC_SERVER_PORT: z.coerce.number().int().min(0).max(65_535).default(8234),
  CODEC_SERVER_HOST: z.string().min(1).default('127.0.0.1'),
  /** How long a codec server sign-in (`POST /codec/session`) lasts, in seconds; never longer than the token signed in with. */
  CODEC_SESSION_TTL: z.coerce.number().int().min(60).max(86_400).default(3600),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  LOG_PRETTY: bool.default('false'),
});
export type EngineEnv = z.infer<typeof EngineEnv>;

export interface Topics {
  intake: string;
  actions: string;
  deadLetter: string;
  events: string;
  notifyPrefix: string;
}

/** The engine's topics and the codec server's audit topic (which the workflows never write). */
export interface EngineTopics extends Topics {
  audit: string;
}

/** One engine client's credentials as configured (files are read by config/kafka-security.ts). */
export interface KafkaClientCredentials {
  username?: string;
  password?: string;
  passwordFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface KafkaSecurityConfig {
  protocol: EngineEnv['KAFKA_SECURITY_PROTOCOL'];
  mechanism: EngineEnv['KAFKA_SASL_MECHANISM'];
  /** Absent: Node's public CAs. */
  caFile?: string;
  /** True when caFile is the local stack's default (its absence is then explained as such). */
  caFileIsDefault: boolean;
  servername?: string;
  credentialsFile?: string;
  credentialsFileIsDefault: boolean;
  clients: Record<KafkaClientName, KafkaClientCredentials>;
}

export interface EngineConfig {
  temporal: TemporalConnectionConfig & { namespace: string; taskQueue: string; uiUrl: string };
  kafka: {
    brokers: string[];
    clientId: string;
    intakeGroup: string;
    actionsGroup: string;
    topics: EngineTopics;
    security: KafkaSecurityConfig;
    /** config/kafka-access.json unless KAFKA_ACCESS_FILE says otherwise. */
    accessFile?: string;
    sharedTopics: boolean;
  };
  policyFile: string;
  logLevel: EngineEnv['LOG_LEVEL'];
  logPretty: boolean;
  roles: EngineRole[];
  shutdownGraceMs: number;
  /** Keys of the payload codec (loaded with `loadKeyRing` from codec/keys.ts). */
  payloadKeys: PayloadKeysConfig;
  codecServer: CodecServerConfig;
  api: ApiConfig;
  /** host:port of the worker's Prometheus endpoint, or undefined when disabled. */
  workerMetricsAddress?: string;
  workerMaxCachedWorkflows: number;
  /** Prebuilt workflow bundle file; absent: bundle workflows/ from source at start. */
  workerWorkflowBundle?: string;
}

export interface ApiConfig {
  host: string;
  port: number;
  identitiesFile: string;
  /** Signed tokens; absent: API keys only. */
  jwt?: ApiJwtConfig;
  rateLimitPerMinute: number;
  /** API_SIGNIN_HINT: shown on the pages' sign-in card. */
  signInHint?: string;
  /** EXPORT_MIN_CELL: k of the HTCDS export. */
  exportMinCell: number;
}

export interface ApiJwtConfig {
  jwksFile?: string;
  jwksUrl?: string;
  /** Development only (API_JWT_SECRET with API_JWT_ALLOW_HS256=true). */
  hs256DevSecret?: string;
  issuer: string;
  audience: string;
  maxAgeSeconds?: number;
  clockToleranceSeconds: number;
}

export type EngineRole = EngineEnv['ENGINE_ROLES'][number];

export interface CodecServerConfig {
  host: string;
  /** 0: the codec role starts no server. */
  port: number;
  /** The Temporal Web UI's origin, the only one CORS lets call the codec server (with credentials). */
  uiOrigin: string;
  /** Lifetime of a sign-in session, in seconds. */
  sessionTtlSeconds: number;
}

/** Variables that no longer exist, and what replaces each: setting one is a configuration error. */
const REMOVED_VARIABLES: Record<string, string> = {
  CODEC_AUTH_TOKENS:
    'removed: the codec server authenticates callers as the API does (an API key or signed token of API_IDENTITIES_FILE / API_JWKS_FILE in "Authorization: Bearer ...", or a session from signing in at /codec/session) and decodes only for operators, admins and the agencies party to the referral; unset it, and give `temporal ... --codec-auth "Bearer <API key>"` instead',
};

const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost']);

/** Rules between variables, checked on the raw values so they are reported with the others. */
function crossCheck(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const keys = env['PAYLOAD_KEYS'];
  const active = env['PAYLOAD_ACTIVE_KEY'];
  if (keys !== undefined && env['PAYLOAD_KEYS_FILE'] !== undefined) {
    problems.push('PAYLOAD_KEYS_FILE: set either PAYLOAD_KEYS or PAYLOAD_KEYS_FILE, not both');
  }
  if (keys !== undefined && active !== undefined && KEY_ID_PATTERN.test(active) && !keyIdsOf(keys).includes(active)) {
    problems.push(`PAYLOAD_ACTIVE_KEY: there is no key "${active}" in PAYLOAD_KEYS`);
  }
  for (const c of KAFKA_CLIENTS) {
    const v = `KAFKA_${c.toUpperCase()}`;
    if (env[`${v}_PASSWORD`] !== undefined && env[`${v}_PASSWORD_FILE`] !== undefined) problems.push(`${v}_PASSWORD_FILE: set either ${v}_PASSWORD or ${v}_PASSWORD_FILE, not both`);
    if ((env[`${v}_CERT_FILE`] === undefined) !== (env[`${v}_KEY_FILE`] === undefined)) {
      problems.push(`${v}_${env[`${v}_CERT_FILE`] === undefined ? 'CERT_FILE' : 'KEY_FILE'}: a client certificate needs both ${v}_CERT_FILE and ${v}_KEY_FILE`);
    }
  }
  if (env['API_JWKS_FILE'] !== undefined && env['API_JWKS_URL'] !== undefined) problems.push('API_JWKS_URL: set either API_JWKS_FILE or API_JWKS_URL, not both');
  if (env['API_JWKS_URL'] !== undefined && env['API_JWT_ISSUER'] === undefined) problems.push("API_JWT_ISSUER: required with API_JWKS_URL (the identity provider's issuer)");
  const allowHs256 = env['API_JWT_ALLOW_HS256'] === 'true' || env['API_JWT_ALLOW_HS256'] === '1';
  if (env['API_JWT_SECRET'] !== undefined && !allowHs256) problems.push('API_JWT_SECRET: HS256 tokens are for development only: set API_JWT_ALLOW_HS256=true as well, or use API_JWKS_FILE / API_JWKS_URL');
  if (allowHs256 && env['API_JWT_SECRET'] === undefined) problems.push('API_JWT_ALLOW_HS256: there is no API_JWT_SECRET to verify HS256 tokens with');
  if ((env['TEMPORAL_TLS_CERT_FILE'] === undefined) !== (env['TEMPORAL_TLS_KEY_FILE'] === undefined)) {
    problems.push(`TEMPORAL_TLS_${env['TEMPORAL_TLS_CERT_FILE'] === undefined ? 'CERT_FILE' : 'KEY_FILE'}: a client certificate needs both TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE`);
  }
  if (env['TEMPORAL_API_KEY'] !== undefined && env['TEMPORAL_API_KEY_FILE'] !== undefined) problems.push('TEMPORAL_API_KEY_FILE: set either TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE, not both');
  for (const [name, instead] of Object.entries(REMOVED_VARIABLES)) if (env[name] !== undefined) problems.push(`${name}: ${instead}`);
  return problems;
}

/** Parses the environment, failing fast with every bad variable named. */
export function loadEngineConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EngineEnv.safeParse(present);
  const problems = [...(parsed.success ? [] : describeIssues(parsed.error)), ...crossCheck(present)];
  if (!parsed.success || problems.length > 0) throw new ConfigError('environment', problems);
  const e = parsed.data;
  const payloadKeys: PayloadKeysConfig = e.PAYLOAD_KEYS
    ? { source: 'PAYLOAD_KEYS', keyRing: new KeyRing(e.PAYLOAD_ACTIVE_KEY ?? e.PAYLOAD_KEYS[0]![0], e.PAYLOAD_KEYS) }
    : {
        source: 'PAYLOAD_KEYS_FILE',
        file: e.PAYLOAD_KEYS_FILE ?? defaultPayloadKeysFile,
        isDefault: e.PAYLOAD_KEYS_FILE === undefined,
        ...(e.PAYLOAD_ACTIVE_KEY ? { activeKeyId: e.PAYLOAD_ACTIVE_KEY } : {}),
      };
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL,
      ...(e.TEMPORAL_TLS_CA_FILE || e.TEMPORAL_TLS_CERT_FILE || e.TEMPORAL_TLS_KEY_FILE || e.TEMPORAL_TLS_SERVER_NAME
        ? {
            tls: {
              ...(e.TEMPORAL_TLS_CA_FILE ? { caFile: e.TEMPORAL_TLS_CA_FILE } : {}),
              ...(e.TEMPORAL_TLS_CERT_FILE ? { certFile: e.TEMPORAL_TLS_CERT_FILE } : {}),
              ...(e.TEMPORAL_TLS_KEY_FILE ? { keyFile: e.TEMPORAL_TLS_KEY_FILE } : {}),
              ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverName: e.TEMPORAL_TLS_SERVER_NAME } : {}),
            },
          }
        : {}),
      ...(e.TEMPORAL_API_KEY ? { apiKey: e.TEMPORAL_API_KEY } : {}),
      ...(e.TEMPORAL_API_KEY_FILE ? { apiKeyFile: e.TEMPORAL_API_KEY_FILE } : {}),
    },
    kafka: {
      brokers: e.KAFKA_BROKERS,
      clientId: e.KAFKA_CLIENT_ID,
      intakeGroup: e.KAFKA_INTAKE_GROUP,
      actionsGroup: e.KAFKA_ACTIONS_GROUP,
      topics: {
        intake: e.KAFKA_TOPIC_INTAKE,
        actions: e.KAFKA_TOPIC_ACTIONS,
        deadLetter: e.KAFKA_TOPIC_DEAD_LETTER,
        events: e.KAFKA_TOPIC_EVENTS,
        notifyPrefix: e.KAFKA_TOPIC_NOTIFY_PREFIX,
        audit: e.KAFKA_TOPIC_AUDIT,
      },
      security: {
        protocol: e.KAFKA_SECURITY_PROTOCOL,
        mechanism: e.KAFKA_SASL_MECHANISM,
        ...(e.KAFKA_SSL_CA_FILE ? { caFile: e.KAFKA_SSL_CA_FILE } : existsSync(defaultKafkaCaFile) ? { caFile: defaultKafkaCaFile } : {}),
        caFileIsDefault: e.KAFKA_SSL_CA_FILE === undefined,
        ...(e.KAFKA_SSL_SERVERNAME ? { servername: e.KAFKA_SSL_SERVERNAME } : {}),
        credentialsFile: e.KAFKA_CREDENTIALS_FILE ?? defaultKafkaCredentialsFile,
        credentialsFileIsDefault: e.KAFKA_CREDENTIALS_FILE === undefined,
        clients: Object.fromEntries(
          KAFKA_CLIENTS.map((c) => {
            const v = `KAFKA_${c.toUpperCase()}` as const;
            const get = (suffix: string) => (e as Record<string, unknown>)[`${v}_${suffix}`] as string | undefined;
            const creds: KafkaClientCredentials = {
              ...(get('USERNAME') ? { username: get('USERNAME') } : {}),
              ...(get('PASSWORD') ? { password: get('PASSWORD') } : {}),
              ...(get('PASSWORD_FILE') ? { passwordFile: get('PASSWORD_FILE') } : {}),
              ...(get('CERT_FILE') ? { certFile: get('CERT_FILE') } : {}),
              ...(get('KEY_FILE') ? { keyFile: get('KEY_FILE') } : {}),
            };
            return [c, creds];
          }),
        ) as Record<KafkaClientName, KafkaClientCredentials>,
      },
      ...(e.KAFKA_ACCESS_FILE ? { accessFile: e.KAFKA_ACCESS_FILE } : {}),
      sharedTopics: e.KAFKA_SHARED_TOPICS,
    },
    policyFile: e.POLICY_FILE,
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY,
    roles: e.ENGINE_ROLES,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    payloadKeys,
    codecServer: {
      host: e.CODEC_SERVER_HOST,
      port: e.CODEC_SERVER_PORT,
      uiOrigin: new URL(e.TEMPORAL_UI_URL).origin,
      sessionTtlSeconds: e.CODEC_SESSION_TTL,
    },
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      identitiesFile: e.API_IDENTITIES_FILE,
      ...(e.API_JWKS_FILE || e.API_JWKS_URL || e.API_JWT_SECRET
        ? {
            jwt: {
              ...(e.API_JWKS_FILE ? { jwksFile: e.API_JWKS_FILE } : {}),
              ...(e.API_JWKS_URL ? { jwksUrl: e.API_JWKS_URL } : {}),
              ...(e.API_JWT_SECRET && e.API_JWT_ALLOW_HS256 ? { hs256DevSecret: e.API_JWT_SECRET } : {}),
              issuer: e.API_JWT_ISSUER ?? JWT_DEV_ISSUER,
              audience: e.API_JWT_AUDIENCE,
              ...(e.API_JWT_MAX_AGE !== undefined ? { maxAgeSeconds: e.API_JWT_MAX_AGE } : {}),
              clockToleranceSeconds: e.API_JWT_CLOCK_TOLERANCE,
            },
          }
        : {}),
      rateLimitPerMinute: e.API_RATE_LIMIT_PER_MINUTE,
      exportMinCell: e.EXPORT_MIN_CELL,
      ...(e.API_SIGNIN_HINT ? { signInHint: e.API_SIGNIN_HINT } : {}),
    },
    ...(e.WORKER_METRICS_ADDRESS !== '0' ? { workerMetricsAddress: e.WORKER_METRICS_ADDRESS } : {}),
    workerMaxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
    ...(e.WORKER_WORKFLOW_BUNDLE ? { workerWorkflowBundle: e.WORKER_WORKFLOW_BUNDLE } : {}),
  };
}

export function notificationTopic(topics: Topics, agency: string): string {
  return `${topics.notifyPrefix}${agency.toLowerCase()}`;
}
