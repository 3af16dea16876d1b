import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { writeWorkflowBundle } from '../../scripts/bundle-workflows.js';
import { uniqueId } from '../support/fixtures.js';
import { eventually, KafkaHarness } from '../support/kafka-harness.js';
import { alive, engineTopicEnv } from '../support/engine-process.js';
import { prefixedTopics } from '../support/engine-harness.js';
import { repoRoot } from '../support/stack-paths.js';
import { engineSecurityEnv } from '../support/test-kafka.js';

const stackEnv = inject('stackEnv');
const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');

/**
 * `npm start` as a supervisor runs it: a signal to npm's own pid (not to a process group, as a
 * terminal's Ctrl-C sends) stops the engine gracefully and leaves no process behind. The stack is
 * the test's, already up, so start.sh leaves it running.
 */
describe('npm start stops on a signal to its own pid', () => {
  let bundle: string;
  let identities: string;
  const harness = new KafkaHarness(brokers);

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
    bundle = (await writeWorkflowBundle(join(dir, 'workflows.bundle.js'))).file;
    identities = join(dir, 'identities.json');
    writeFileSync(identities, JSON.stringify({ identities: [] }));
  }, 120_000);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}`, async () => {
      const run = uniqueId(`npmstart-${signal.toLowerCase()}`);
      await harness.createEngineTopics(prefixedTopics(run));
      const chunks: string[] = [];
      const npm = spawn('npm', ['start'], {
        cwd: repoRoot,
        env: {
          ...process.env,
          ...stackEnv,
          ...engineTopicEnv(run),
          ...engineSecurityEnv('admin'),
          TEMPORAL_ADDRESS: temporalAddress,
          TEMPORAL_TASK_QUEUE: `${run}-queue`,
          KAFKA_BROKERS: brokers,
          KAFKA_INTAKE_GROUP: `${run}-intake`,
          KAFKA_ACTIONS_GROUP: `${run}-actions`,
          KAFKA_CLIENT_ID: run,
          PAYLOAD_KEYS: `npmstart:${randomBytes(32).toString('base64')}`,
          PAYLOAD_KEYS_FILE: '',
          API_IDENTITIES_FILE: identities,
          ENGINE_ROLES: 'worker,bridge',
          WORKER_WORKFLOW_BUNDLE: bundle,
          WORKER_METRICS_ADDRESS: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      npm.stdout.on('data', (c: Buffer) => chunks.push(c.toString()));
      npm.stderr.on('data', (c: Buffer) => chunks.push(c.toString()));
      const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
      const output = () => chunks.join('');
      let enginePid = 0;
      try {
        await eventually(output, (t) => t.includes('referral-engine running'), 90_000, 'engine start under npm start');
        expect(output()).toContain('start: Ctrl-C stops the engine and the stack');
        // Not on a terminal: JSON lines, so the engine's pid can be read from them.
        enginePid = (JSON.parse(output().split('\n').find((l) => l.includes('referral-engine running'))!) as { pid: number }).pid;
        expect(alive(enginePid)).toBe(true);

        npm.kill(signal);
        await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`npm start still running 30 s after ${signal}:\n${output().slice(-2000)}`)), 30_000))]);
        // The engine stopped gracefully (its own last line) and nothing of it is left.
        expect(output()).toMatch(/"msg":"stopped"/);
        await eventually(() => alive(enginePid), (a) => !a, 10_000, 'engine process gone');
      } finally {
        // Whatever failed above, no engine of this test keeps running: its start.sh ends with it.
        if (enginePid > 0 && alive(enginePid)) process.kill(enginePid, 'SIGKILL');
        npm.kill('SIGKILL');
      }
    }, 150_000);
  }
});
