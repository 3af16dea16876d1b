import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readmeBlocks } from '../support/readme-blocks.js';
import { repoRoot } from '../support/stack-paths.js';

/**
 * README's command blocks, pasted as a newcomer would: in a copy of the repository (its own
 * `.stack/`, the installed Temporal CLI and Kafka jars linked in), `npm start` with the default
 * ports, `npm run demo`, then every bash block in README's order, each in a fresh bash with
 * `set -eo pipefail`, which must exit 0 (or as its marker says; see test/support/readme-blocks.ts).
 * The default ports must be free: with a developer's stack running, the test says so and skips.
 */
const DEFAULT_PORTS = [7233, 8233, 9092, 9093, 9094, 8080, 8234, 9464];

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** The variables of the test's own process that would point a block elsewhere than the copy's stack. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(TEST_|KAFKA_|TEMPORAL_|STACK_|REFERRALS_|API_|CODEC_|PAYLOAD_|ENGINE_|WORKER_|LOG_|BENCH_|CLUSTER_|VITEST)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/** The repository's files (tracked, and new ones not ignored) in `dir`, with node_modules and the installed servers linked. */
function copyRepository(dir: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    try {
      copyFileSync(join(repoRoot, file), join(dir, file));
    } catch {
      // listed but deleted in the working tree
    }
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, '.stack'));
  for (const installed of ['venv', 'kafka']) symlinkSync(join(repoRoot, '.stack', installed), join(dir, '.stack', installed));
}

const blocks = readmeBlocks(`${repoRoot}README.md`);
let skipReason: string | undefined;
let dir = '';
let engine: ChildProcess | undefined;
const output: string[] = [];
const env = cleanEnv();

describe("README's command blocks, pasted into a copy of the repository", () => {
  beforeAll(async () => {
    const busy = (await Promise.all(DEFAULT_PORTS.map(async (p) => ((await portFree(p)) ? undefined : p)))).filter((p) => p !== undefined);
    if (busy.length > 0) {
      skipReason = `README blocks: SKIPPED — the default ports ${busy.join(', ')} are in use (a stack of yours is running?); stop it to run README's blocks`;
      console.info(skipReason);
      return;
    }
    dir = mkdtempSync(join(tmpdir(), 'readme-'));
    copyRepository(dir);
    engine = spawn('npm', ['start'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    engine.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
    engine.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    const until = Date.now() + 300_000;
    while (!output.join('').includes('referral-engine running')) {
      if (engine.exitCode !== null || Date.now() > until) throw new Error(`npm start did not come up:\n${output.join('').slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const demo = spawnSync('npm', ['run', '-s', 'demo'], { cwd: dir, env, encoding: 'utf8', timeout: 180_000 });
    expect(demo.status, `${demo.stdout}\n${demo.stderr}`).toBe(0);
    console.info(demo.stdout.trim());
  }, 420_000);

  afterAll(async () => {
    if (engine && engine.exitCode === null) {
      const exited = new Promise((r) => engine!.once('exit', r));
      engine.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
      if (engine.exitCode === null) engine.kill('SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    const ran = blocks.filter((b) => b.expect.run);
    console.info(`README: ${blocks.length} bash blocks: ${skipReason ? 0 : ran.length} run, ${blocks.length - ran.length} skipped by their markers`);
  }, 120_000);

  for (const block of blocks) {
    const title = `README.md:${block.line}: ${block.script.split('\n').find((l) => l.trim() && !l.startsWith('#'))?.slice(0, 70) ?? ''}`;
    if (!block.expect.run) {
      it.skip(`${title} (${block.expect.reason})`, () => undefined);
      continue;
    }
    const exitCode = block.expect.exitCode;
    it(title, ({ skip }) => {
      if (skipReason) skip();
      const run = spawnSync('bash', ['-c', `set -eo pipefail\n${block.script}`], { cwd: dir, env, encoding: 'utf8', timeout: 150_000 });
      expect(run.status, `exit ${run.status ?? run.signal}\n--- stdout\n${run.stdout.slice(-3000)}\n--- stderr\n${run.stderr.slice(-3000)}`).toBe(exitCode);
    }, 180_000);
  }
});
