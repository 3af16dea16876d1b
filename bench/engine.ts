import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { startActionsBridge } from '../bridge/actions.js';
import { createDeadLetters } from '../bridge/dead-letters.js';
import { startIntakeBridge } from '../bridge/index.js';
import { KeyRing } from '../codec/aes-gcm-codec.js';
import { createDataConverter } from '../codec/data-converter.js';
import type { Topics } from '../config/env.js';
import { loadKafkaAccess } from '../config/kafka-access.js';
import { senderDirectory } from '../bridge/senders.js';
import { createKafka, createPublisher, type ConsumerRun } from '../messaging/kafka.js';
import type { Policy } from '../schemas/policy.js';
import { pino } from 'pino';
import { redactPaths } from '../workers/logger.js';
import { createReferralWorker, workflowsPath } from '../workers/temporal-worker.js';
import type { FloorActivities } from './floor-workflows.js';
import { benchEngineSecurity, type TransportName } from './kafka.js';
import { repoRoot } from './stack.js';

/** A payload key for this run only: the engine encrypts every payload, in the bench as in production. */
const payloadKey = randomBytes(32);
export const keyRing = new KeyRing('bench', { bench: payloadKey });
export const dataConverter = createDataConverter(keyRing);
export const payloadKeysEnv = `bench:${payloadKey.toString('base64')}`;

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
/** The in-process engine's logger: warnings and errors, redacted as the engine's, on stderr (stdout holds the table). */
export const benchLogger = pino({ level: 'warn', redact: { paths: redactPaths, censor: '[redacted]' } }, pino.destination(2));

const bundles = new Map<string, Promise<{ bundle: WorkflowBundleWithSourceMap; ms: number }>>();
/** Bundles a workflows file once per run; also reports how long the bundling took. */
export function bundle(path: string): Promise<{ bundle: WorkflowBundleWithSourceMap; ms: number }> {
  let b = bundles.get(path);
  if (!b) {
    const t0 = performance.now();
    b = bundleWorkflowCode({ workflowsPath: path, logger: quiet }).then((bundle) => ({ bundle, ms: performance.now() - t0 }));
    bundles.set(path, b);
  }
  return b;
}
export const engineBundle = () => bundle(workflowsPath);
export const floorWorkflowsPath = fileURLToPath(new URL('./floor-workflows.ts', import.meta.url));
export const floorBundle = () => bundle(floorWorkflowsPath);

export interface Running {
  stop(): Promise<void>;
}

/**
 * The engine's worker and, optionally, its intake and actions bridges, assembled in this process
 * as the integration tests do; every Kafka client of it (bridges, publisher) on `transport`
 * (SASL_SSL unless told), at `brokers`, that transport's listener.
 */
export async function startEngine(options: {
  connection: NativeConnection;
  client: Client;
  brokers: string;
  transport?: TransportName;
  taskQueue: string;
  topics: Topics;
  policy: Policy;
  bridgeGroup?: string;
  actionsGroup?: string;
}): Promise<Running> {
  const kafka = createKafka({ brokers: [options.brokers], clientId: `bench-${options.taskQueue}`, logger: benchLogger, security: benchEngineSecurity(options.transport ?? 'SASL_SSL') });
  const publisher = createPublisher(kafka);
  await publisher.connect();
  const access = loadKafkaAccess();
  const source = 'urn:referral-engine:bench';
  // The bridges read every agency's own topics and take the acting agency from the topic.
  const senders = senderDirectory(access, options.topics);
  const worker = await createReferralWorker({
    connection: options.connection,
    namespace: 'default',
    taskQueue: options.taskQueue,
    activityDeps: { publisher, topics: options.topics, source, partners: access.partners },
    workflowBundle: (await engineBundle()).bundle,
    dataConverter,
  });
  const running = worker.run();
  const bridges: ConsumerRun[] = [];
  const deadLetters = createDeadLetters(publisher, options.topics.deadLetter, benchLogger);
  if (options.bridgeGroup) {
    const bridge = await startIntakeBridge({
      kafka,
      client: options.client,
      logger: benchLogger,
      groupId: options.bridgeGroup,
      senders,
      publisher,
      source,
      taskQueue: options.taskQueue,
      policy: options.policy,
      deadLetters,
    });
    bridges.push(bridge);
  }
  if (options.actionsGroup) {
    const actions = await startActionsBridge({
      kafka,
      client: options.client,
      logger: benchLogger,
      groupId: options.actionsGroup,
      senders,
      publisher,
      source,
      deadLetters,
    });
    bridges.push(actions);
  }
  return {
    async stop() {
      await Promise.all(bridges.map((b) => b.stop()));
      worker.shutdown();
      await running;
      await publisher.disconnect();
    },
  };
}

/**
 * Starts one engine per lane at once (lane.engine set as each is up); when one fails, stops those
 * that started and throws its error, so no engine of a failed scenario keeps polling.
 */
export async function startLanes<L extends { engine?: Running }>(lanes: readonly L[], start: (lane: L) => Promise<Running>): Promise<void> {
  const outcomes = await Promise.allSettled(lanes.map(async (lane) => (lane.engine = await start(lane))));
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) {
    await Promise.allSettled(lanes.map((lane) => lane.engine?.stop()));
    throw failed.reason;
  }
}

/** A worker for the baseline workflows, in this process; `onActivity` hears every no-op activity. */
export async function startFloorWorker(options: {
  connection: NativeConnection;
  taskQueue: string;
  onActivity: (id: string, step: string, at: number) => void;
}): Promise<Running> {
  const activities: FloorActivities = {
    async noop(id, step) {
      options.onActivity(id, step, Date.now());
    },
  };
  const worker = await Worker.create({
    connection: options.connection,
    namespace: 'default',
    taskQueue: options.taskQueue,
    activities,
    workflowBundle: (await floorBundle()).bundle,
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

/** A log line of a child process with the time this process read it. */
export interface ChildLine {
  at: number;
  text: string;
}

/** Engine processes still running: run.ts stops them on Ctrl-C or failure. */
export const childEngines = new Set<ChildEngine>();

/** A worker's log line once it polls: pino JSON from the engine, plain text from bench/floor-worker.ts. */
export const RUNNING_LINE = /^(?=.*Worker state changed)(?=.*RUNNING)/;

/**
 * An engine process (`node --import tsx workers/engine.ts`), as `npm start` or the Dockerfile
 * runs it, or another entry (the baseline worker) started the same way.
 */
export class ChildEngine {
  readonly spawnedAt = Date.now();
  readonly lines: ChildLine[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(env: Record<string, string>, entry = 'workers/engine.ts') {
    this.child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: repoRoot,
      env: { ...process.env, PAYLOAD_KEYS: payloadKeysEnv, PAYLOAD_KEYS_FILE: '', PAYLOAD_ACTIVE_KEY: '', CODEC_SERVER_PORT: '0', WORKER_METRICS_ADDRESS: '127.0.0.1:0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on('line', (text) => this.lines.push({ at: Date.now(), text }));
    }
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        childEngines.delete(this);
        resolve(code);
      }),
    );
    childEngines.add(this);
  }

  /** Immediate stop, for Ctrl-C: the bench is going down anyway. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** When the first line matching `pattern` was read, waiting up to timeoutMs. */
  async lineAt(pattern: RegExp, timeoutMs: number): Promise<number | undefined> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.find((l) => pattern.test(l.text));
      if (hit) return hit.at;
      if (Date.now() > until || this.child.exitCode !== null) return undefined;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Resident and peak resident memory of the process, from /proc (KiB). */
  memory(): { rssKiB: number; hwmKiB: number } | undefined {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
      return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
    } catch {
      return undefined;
    }
  }

  /** SIGTERM (the engine's graceful stop), SIGKILL after the grace time. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  lastLines(n = 10): string {
    return this.lines
      .slice(-n)
      .map((l) => l.text)
      .join('\n');
  }
}
