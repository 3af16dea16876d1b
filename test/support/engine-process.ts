import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { eventually } from './kafka-harness.js';
import { repoRoot } from './stack-paths.js';
import { engineSecurityEnv } from './test-kafka.js';

/** Whether a process is still running (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Topic variables of an engine process whose topics all start with the test's own prefix. */
export function engineTopicEnv(run: string) {
  return {
    KAFKA_TOPIC_INTAKE: `${run}.intake`,
    KAFKA_TOPIC_ACTIONS: `${run}.actions`,
    KAFKA_TOPIC_DEAD_LETTER: `${run}.dead-letter`,
    KAFKA_TOPIC_EVENTS: `${run}.events`,
    KAFKA_TOPIC_NOTIFY_PREFIX: `${run}.notify.`,
  };
}

export interface EngineProcess {
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM, then waits for the exit; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The real engine as a child process (`node --import tsx workers/engine.ts`) on the test stack,
 * with its own topics, groups, task queue and payload key; `env` adds or overrides variables.
 * Resolves once the engine says it is running.
 */
export async function startEngineProcess(options: { run: string; temporalAddress: string; brokers: string; env: Record<string, string> }): Promise<EngineProcess> {
  const { run } = options;
  const chunks: string[] = [];
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'workers/engine.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...engineTopicEnv(run),
      TEMPORAL_ADDRESS: options.temporalAddress,
      TEMPORAL_TASK_QUEUE: `${run}-queue`,
      KAFKA_BROKERS: options.brokers,
      KAFKA_INTAKE_GROUP: `${run}-intake`,
      KAFKA_ACTIONS_GROUP: `${run}-actions`,
      KAFKA_CLIENT_ID: run,
      PAYLOAD_KEYS: `${run.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 60) || 'test'}:${randomBytes(32).toString('base64')}`,
      PAYLOAD_KEYS_FILE: '',
      // Topics carry the run's prefix, which the ACL table does not name: every client is the admin principal.
      ...engineSecurityEnv('admin'),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const output = () => chunks.join('');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await eventually(output, (text) => text.includes('referral-engine running'), 60_000, 'engine start');
  } catch (err) {
    await stop();
    throw err;
  }
  return { output, stop };
}

/** The shipped topic names: the ACL table is written for them (config/kafka-access.ts). */
export const shippedTopics = {
  intake: 'referrals.intake',
  actions: 'referrals.actions',
  deadLetter: 'referrals.dead-letter',
  events: 'referrals.events',
  notifyPrefix: 'referrals.notify.',
};

/**
 * Variables of an engine process on the shipped topics and consumer groups, the ones the ACL
 * table grants the engine's own principals (tests of the trust boundary run the engine so).
 */
export function shippedTopicsEnv(): Record<string, string> {
  return {
    KAFKA_TOPIC_INTAKE: shippedTopics.intake,
    KAFKA_TOPIC_ACTIONS: shippedTopics.actions,
    KAFKA_TOPIC_DEAD_LETTER: shippedTopics.deadLetter,
    KAFKA_TOPIC_EVENTS: shippedTopics.events,
    KAFKA_TOPIC_NOTIFY_PREFIX: shippedTopics.notifyPrefix,
    KAFKA_INTAKE_GROUP: 'referral-engine-intake',
    KAFKA_ACTIONS_GROUP: 'referral-engine-actions',
  };
}
