import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { repoRoot } from '../support/stack-paths.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    kafkaBrokers: string;
    /** STACK_DIR and *_PORT of the test stack: `bash scripts/stack.sh stop|start temporal|kafka` with it restarts one part (fault tests). */
    stackEnv: Record<string, string>;
  }
}

/**
 * Starts a real Temporal dev server and a real Kafka broker for the integration tests, on
 * loopback ports apart from a developer's own stack, in a fresh state folder; stops them after.
 */
const ports = {
  TEMPORAL_PORT: process.env['TEST_TEMPORAL_PORT'] ?? '17233',
  TEMPORAL_UI_PORT: process.env['TEST_TEMPORAL_UI_PORT'] ?? '18233',
  KAFKA_PORT: process.env['TEST_KAFKA_PORT'] ?? '19092',
  KAFKA_CONTROLLER_PORT: process.env['TEST_KAFKA_CONTROLLER_PORT'] ?? '19093',
};
const stackDir = process.env['TEST_STACK_DIR'] ?? `${repoRoot}.stack/test`;

function stack(command: 'up' | 'down'): void {
  const result = spawnSync('bash', [`${repoRoot}scripts/stack.sh`, command], {
    env: { ...process.env, ...ports, STACK_DIR: stackDir, KAFKA_TOPICS: 'referrals.intake,referrals.actions' },
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
  project.provide('stackEnv', { ...ports, STACK_DIR: stackDir });
  return () => stack('down');
}
