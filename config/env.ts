import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, describeIssues } from './errors.js';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const defaultPolicyFile = fileURLToPath(new URL('./policy.json', import.meta.url));

/**
 * Every environment variable the engine's processes read, with the embedded defaults that
 * match `npm run stack -- up`. Parsed once, in each process's composition root.
 */
export const EngineEnv = z.object({
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('referrals'),
  TEMPORAL_UI_URL: z.string().url().default('http://127.0.0.1:8233'),
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(hostPort).min(1)),
  KAFKA_CLIENT_ID: z.string().min(1).default('referral-engine'),
  KAFKA_INTAKE_GROUP: z.string().min(1).default('referral-engine-intake'),
  KAFKA_TOPIC_INTAKE: z.string().min(1).default('referrals.intake'),
  KAFKA_TOPIC_ACTIONS: z.string().min(1).default('referrals.actions'),
  KAFKA_TOPIC_DEAD_LETTER: z.string().min(1).default('referrals.dead-letter'),
  KAFKA_TOPIC_EVENTS: z.string().min(1).default('referrals.events'),
  /** Notification topics are `<prefix><agency code in lower case>`, one per agency. */
  KAFKA_TOPIC_NOTIFY_PREFIX: z.string().min(1).default('referrals.notify.'),
  POLICY_FILE: z.string().min(1).default(defaultPolicyFile),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ENGINE_ROLES: z
    .string()
    .default('worker,bridge')
    .transform((s) => s.split(',').map((r) => r.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['worker', 'bridge'])).min(1)),
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

export interface EngineConfig {
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string };
  kafka: { brokers: string[]; clientId: string; intakeGroup: string; topics: Topics };
  policyFile: string;
  logLevel: EngineEnv['LOG_LEVEL'];
  logPretty: boolean;
  roles: Array<'worker' | 'bridge'>;
  shutdownGraceMs: number;
}

/** Parses the environment, failing fast with every bad variable named. */
export function loadEngineConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EngineEnv.safeParse(present);
  if (!parsed.success) throw new ConfigError('environment', describeIssues(parsed.error));
  const e = parsed.data;
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL,
    },
    kafka: {
      brokers: e.KAFKA_BROKERS,
      clientId: e.KAFKA_CLIENT_ID,
      intakeGroup: e.KAFKA_INTAKE_GROUP,
      topics: {
        intake: e.KAFKA_TOPIC_INTAKE,
        actions: e.KAFKA_TOPIC_ACTIONS,
        deadLetter: e.KAFKA_TOPIC_DEAD_LETTER,
        events: e.KAFKA_TOPIC_EVENTS,
        notifyPrefix: e.KAFKA_TOPIC_NOTIFY_PREFIX,
      },
    },
    policyFile: e.POLICY_FILE,
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY,
    roles: e.ENGINE_ROLES,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
  };
}

export function notificationTopic(topics: Topics, agency: string): string {
  return `${topics.notifyPrefix}${agency.toLowerCase()}`;
}
