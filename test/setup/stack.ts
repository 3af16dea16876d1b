import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { repoRoot } from '../support/stack-paths.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The SASL_SSL listener (SCRAM-SHA-512; the broker's certificate is signed by kafkaSecurity.caFile). */
    kafkaBrokers: string;
    /** STACK_DIR and *_PORT of the test stack: `bash scripts/stack.sh stop|start temporal|kafka` with it restarts one part (fault tests). */
    stackEnv: Record<string, string>;
    /** How a client logs in to the test broker: the local CA, the principals' passwords, the mTLS listener and client certificates. */
    kafkaSecurity: { caFile: string; credentialsFile: string; mtlsBrokers?: string; tlsDir: string };
  }
}

/**
 * Starts a real Temporal dev server and a real Kafka broker for the integration tests, on
 * loopback ports apart from a developer's own stack, in a fresh state folder; stops them after.
 * The broker is the secured one of `npm run stack -- up`: SASL_SSL, ACLs of config/kafka-access.json,
 * an mTLS listener, and never the development plaintext listener.
 */
const ports = {
  TEMPORAL_PORT: process.env['TEST_TEMPORAL_PORT'] ?? '17233',
  TEMPORAL_UI_PORT: process.env['TEST_TEMPORAL_UI_PORT'] ?? '18233',
  KAFKA_PORT: process.env['TEST_KAFKA_PORT'] ?? '19092',
  KAFKA_CONTROLLER_PORT: process.env['TEST_KAFKA_CONTROLLER_PORT'] ?? '19093',
  KAFKA_MTLS_PORT: process.env['TEST_KAFKA_MTLS_PORT'] ?? '19094',
};
const stackDir = process.env['TEST_STACK_DIR'] ?? `${repoRoot}.stack/test`;
/** Extra topics (none: the access table's topics are always created), no plaintext listener, no shared topics. */
const kafkaOptions = { KAFKA_TOPICS: '', KAFKA_DEV_PLAINTEXT_PORT: '', KAFKA_SHARED_TOPICS: '0' };

function stack(command: 'up' | 'down'): void {
  const result = spawnSync('bash', [`${repoRoot}scripts/stack.sh`, command], {
    env: { ...process.env, ...ports, ...kafkaOptions, STACK_DIR: stackDir },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`scripts/stack.sh ${command} failed with exit code ${result.status}`);
}

export default function setup(project: TestProject): () => void {
  stack('down');
  rmSync(stackDir, { recursive: true, force: true });
  stack('up');
  project.provide('temporalAddress', `127.0.0.1:${ports.TEMPORAL_PORT}`);
  project.provide('kafkaBrokers', `127.0.0.1:${ports.KAFKA_PORT}`);
  project.provide('stackEnv', { ...ports, ...kafkaOptions, STACK_DIR: stackDir });
  project.provide('kafkaSecurity', {
    caFile: `${stackDir}/kafka-tls/ca.pem`,
    credentialsFile: `${stackDir}/kafka-credentials.json`,
    mtlsBrokers: `127.0.0.1:${ports.KAFKA_MTLS_PORT}`,
    tlsDir: `${stackDir}/kafka-tls`,
  });
  return () => stack('down');
}
