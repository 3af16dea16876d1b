import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { ChildEngine } from './engine.js';
import { BenchKafka } from './kafka.js';
import { benchStack, repoRoot } from './stack.js';

/**
 * The two deployments `npm run bench -- --profile cluster` compares, each with the engine as it is
 * deployed (separate processes, ENGINE_ROLES=worker,bridge, two replicas sharing the task queue
 * and consumer groups, the shipped topics and ACLs):
 * - `dev`: the bench's single-node stack (Temporal dev server on SQLite, one Kafka node), with two
 *   engine processes the bench starts;
 * - `cluster`: scripts/cluster.sh's production shape (Temporal on PostgreSQL, three Kafka nodes
 *   with replication factor 3 and min.insync.replicas=2) with its own engine-1 and engine-2.
 */
export type ProfileName = 'dev' | 'cluster';

export interface ProfileTarget {
  name: ProfileName;
  /** The engine's variables for this stack ($STACK_DIR/endpoints.env). */
  endpoints: Record<string, string>;
  /** A bench client logged in as `principal` (an agency's code in lower case) on this stack's brokers. */
  kafka(principal: string): BenchKafka;
  /** Engine replicas running now. */
  replicas: number;
  /** Stops or starts the second replica; resolves once the engines run as asked. */
  setReplicas(n: 1 | 2): Promise<void>;
  /** Stops what this target started (the cluster: the whole profile; dev: its engine processes). */
  stop(): Promise<void>;
  /** The processes of each part of the deployment now (engines, Temporal, PostgreSQL, Kafka), for their CPU. */
  parts(): Record<string, number[]>;
}

/** The pid a stack script recorded for a component, if it has one. */
function pidOf(dir: string, component: string): number[] {
  try {
    return [Number(readFileSync(`${dir}/pids/${component}.pid`, 'utf8').trim())].filter((p) => p > 1);
  } catch {
    return [];
  }
}

/** KEY=value lines of an endpoints.env file. */
export function readEndpoints(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`${dir}/endpoints.env`, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** What an engine process of either profile is given: the same variables cluster.sh's engine_env sets. */
const engineKeys = ['TEMPORAL_ADDRESS', 'TEMPORAL_UI_URL', 'KAFKA_BROKERS', 'KAFKA_SECURITY_PROTOCOL', 'KAFKA_SASL_MECHANISM', 'KAFKA_SSL_CA_FILE', 'KAFKA_CREDENTIALS_FILE'];

/** A target over a stack's endpoints: bench clients per principal, opened on first use and closed by stop(). */
function target(
  name: ProfileName,
  endpoints: Record<string, string>,
  replicas: (n: 1 | 2) => Promise<void>,
  stopStack: () => Promise<void>,
  parts: () => Record<string, number[]>,
): ProfileTarget {
  const open = new Map<string, BenchKafka>();
  const t: ProfileTarget = {
    name,
    endpoints,
    parts,
    replicas: 2,
    kafka(principal) {
      let k = open.get(principal);
      if (!k) {
        k = new BenchKafka(endpoints['KAFKA_BROKERS']!, 'SASL_SSL', principal, { caFile: endpoints['KAFKA_SSL_CA_FILE']!, credentialsFile: endpoints['KAFKA_CREDENTIALS_FILE']! });
        open.set(principal, k);
      }
      return k;
    },
    async setReplicas(n) {
      if (n === t.replicas) return;
      await replicas(n);
      t.replicas = n;
    },
    async stop() {
      await Promise.allSettled([...open.values()].map((k) => k.close()));
      await stopStack();
    },
  };
  return t;
}

/** The bench stack (already up) with two engine processes started here, as the cluster's are. */
export async function devTarget(): Promise<ProfileTarget> {
  const endpoints = readEndpoints(benchStack.dir);
  const env = (n: number) => ({
    ...Object.fromEntries(engineKeys.map((k) => [k, endpoints[k] ?? ''])),
    ENGINE_ROLES: 'worker,bridge',
    KAFKA_CLIENT_ID: `referral-engine-${n}`,
    NODE_OPTIONS: '--max-old-space-size=384',
  });
  const engines: ChildEngine[] = [];
  const start = async (n: number) => {
    const engine = new ChildEngine(env(n));
    engines[n - 1] = engine;
    if ((await engine.lineAt(/referral-engine running/, 180_000)) === undefined) throw new Error(`dev engine-${n} did not start:\n${engine.lastLines(20)}`);
  };
  await Promise.all([start(1), start(2)]);
  return target(
    'dev',
    endpoints,
    (n) => (n === 1 ? engines[1]!.stop() : start(2)),
    async () => {
      await Promise.all(engines.map((e) => e.stop()));
    },
    () => ({ engines: engines.map((e) => e.pid).filter((p) => p > 1), temporal: pidOf(benchStack.dir, 'temporal'), kafka: pidOf(benchStack.dir, 'kafka') }),
  );
}

/** Where the bench's cluster profile runs: its own state folder and ports, apart from a developer's and the tests'. */
export const benchCluster = {
  dir: process.env['BENCH_CLUSTER_STACK_DIR'] ?? `${repoRoot}.stack/bench-cluster`,
  // Below Linux's ephemeral range (32768–60999), where a client's outgoing socket could take a listener's port first.
  portBase: process.env['BENCH_CLUSTER_PORT_BASE'] ?? '21000',
};

/** scripts/cluster.sh with the bench's folder and ports; its progress lines go to stderr. */
export function clusterCommand(args: string[], quiet = false): void {
  const result = spawnSync('bash', [`${repoRoot}scripts/cluster.sh`, ...args], {
    env: { ...process.env, STACK_DIR: benchCluster.dir, CLUSTER_PORT_BASE: benchCluster.portBase },
    stdio: ['ignore', quiet ? 'ignore' : process.stderr, process.stderr],
  });
  if (result.status !== 0) throw new Error(`scripts/cluster.sh ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

/** True when the cluster profile's Go builds are cached (`cluster.sh built`). */
export function clusterBuilt(): boolean {
  return spawnSync('bash', [`${repoRoot}scripts/cluster.sh`, 'built'], { stdio: 'ignore' }).status === 0;
}

/** A fresh cluster profile (whatever a previous bench left is stopped and wiped), engines included. */
export function clusterTarget(): ProfileTarget {
  clusterCommand(['down'], true);
  rmSync(benchCluster.dir, { recursive: true, force: true });
  clusterCommand(['up']);
  return target(
    'cluster',
    readEndpoints(benchCluster.dir),
    async (n) => clusterCommand([n === 1 ? 'stop' : 'start', 'engine-2']),
    async () => clusterCommand(['down']),
    () => ({
      engines: ['engine-1', 'engine-2'].flatMap((e) => pidOf(benchCluster.dir, e)),
      temporal: pidOf(benchCluster.dir, 'temporal'),
      postgres: pidOf(benchCluster.dir, 'postgres'),
      kafka: ['kafka-1', 'kafka-2', 'kafka-3'].flatMap((k) => pidOf(benchCluster.dir, k)),
    }),
  );
}
