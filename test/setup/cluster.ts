import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { repoRoot } from '../support/stack-paths.js';

export interface ClusterInfo {
  /** false: the cluster was not started (binaries not cached, or CLUSTER_TESTS=0); the tests skip. */
  available: boolean;
  /** Why it is unavailable, printed once here and named by the skipped tests. */
  reason: string;
  /** STACK_DIR and CLUSTER_PORT_BASE: `bash scripts/cluster.sh stop|start <component>` with them. */
  env: Record<string, string>;
  /** The engine variables of the cluster ($STACK_DIR/endpoints.env). */
  endpoints: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

/**
 * The cluster profile of scripts/cluster.sh for the fault tests of test/cluster/: PostgreSQL,
 * the Temporal server, three Kafka nodes, two engine replicas and the API, on ports apart from the
 * developer's stacks (CLUSTER_TEST_PORT_BASE, default 47000: PostgreSQL 47432, Temporal 47233,
 * UI 48233, Kafka 49092/49192/49292, API 48080) in a fresh STACK_DIR (.stack/cluster-test);
 * stopped after.
 *
 * CLUSTER_TESTS: `auto` (default) runs them only when the Go builds are cached (a cold build of
 * the Temporal server took 16 min 42 s on 2 shared cores), `1` builds them if needed and runs,
 * `0` skips. A skip prints one line.
 */
const mode = process.env['CLUSTER_TESTS'] ?? 'auto';
const env = {
  CLUSTER_PORT_BASE: process.env['CLUSTER_TEST_PORT_BASE'] ?? '47000',
  STACK_DIR: process.env['CLUSTER_TEST_STACK_DIR'] ?? `${repoRoot}.stack/cluster-test`,
};

function cluster(command: string): number {
  const result = spawnSync('bash', [`${repoRoot}scripts/cluster.sh`, command], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return result.status ?? 1;
}

function readEndpoints(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`${env.STACK_DIR}/endpoints.env`, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export default function setup(project: TestProject): (() => void) | undefined {
  const unavailable = (reason: string) => {
    console.info(`cluster tests: SKIPPED — ${reason}`);
    project.provide('cluster', { available: false, reason, env, endpoints: {} });
    return undefined;
  };
  if (mode === '0') return unavailable('CLUSTER_TESTS=0');
  if (mode !== '1' && mode !== 'auto') throw new Error(`CLUSTER_TESTS='${mode}': use auto, 1 or 0`);
  if (mode === 'auto' && spawnSync('bash', [`${repoRoot}scripts/cluster.sh`, 'built'], { stdio: 'ignore' }).status !== 0) {
    return unavailable(
      "the cluster profile's Go builds (Temporal server, sql tool, UI) are not cached in .stack/go/bin; " +
        "'npm run stack -- install --profile cluster' builds them (16 min 42 s measured on 2 cores), or run with CLUSTER_TESTS=1",
    );
  }
  cluster('down');
  rmSync(env.STACK_DIR, { recursive: true, force: true });
  const started = Date.now();
  if (cluster('up') !== 0) {
    cluster('down');
    throw new Error('scripts/cluster.sh up failed');
  }
  console.info(`cluster tests: cluster up in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const endpoints = readEndpoints();
  project.provide('cluster', { available: true, reason: '', env, endpoints });
  // test/support/test-kafka.ts reads how to log in to the broker from here.
  project.provide('kafkaSecurity', { caFile: endpoints['KAFKA_SSL_CA_FILE']!, credentialsFile: endpoints['KAFKA_CREDENTIALS_FILE']!, tlsDir: `${env.STACK_DIR}/kafka-tls` });
  return () => {
    cluster('down');
  };
}
