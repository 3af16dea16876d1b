import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsPath } from '../workers/temporal-worker.js';

/**
 * Bundles the workflows once, ahead of time, into one file the worker loads with
 * `WORKER_WORKFLOW_BUNDLE=<file>` instead of running webpack at every start (the image does this
 * at build time). The bundle must come from the same source as the worker's activities.
 */
export const defaultBundleFile = resolve(dirname(workflowsPath), '..', 'dist', 'workflows.bundle.js');

const usage = `usage: npm run bundle-workflows [-- --out <file>]

Bundles workflows/ into one JavaScript file (with its source map inlined) for
WORKER_WORKFLOW_BUNDLE. Default output: dist/workflows.bundle.js.`;

export async function writeWorkflowBundle(out: string): Promise<{ file: string; bytes: number; ms: number }> {
  const t0 = performance.now();
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quiet });
  const file = resolve(out);
  mkdirSync(dirname(file), { recursive: true });
  // Written whole, then renamed: a worker starting meanwhile never reads half a bundle.
  writeFileSync(`${file}.tmp`, code);
  renameSync(`${file}.tmp`, file);
  return { file, bytes: Buffer.byteLength(code), ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  let out = defaultBundleFile;
  try {
    const { values } = parseArgs({ options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write(`${usage}\n`);
      return;
    }
    if (values.out !== undefined) out = values.out;
  } catch (err) {
    process.stderr.write(`bundle-workflows: ${(err as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
  process.stderr.write(`bundle-workflows: bundling ${workflowsPath}\n`);
  const { file, bytes, ms } = await writeWorkflowBundle(out);
  process.stderr.write(`bundle-workflows: wrote ${file} (${(bytes / 1024).toFixed(0)} KiB) in ${(ms / 1000).toFixed(1)} s\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((err: unknown) => {
    process.stderr.write(`bundle-workflows: failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
