import { readdirSync, readFileSync } from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflowsPath } from '../../workers/temporal-worker.js';
import { repoRoot } from '../support/stack-paths.js';
import { scenarios } from './scenarios.js';

const dir = `${repoRoot}test/histories`;
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/**
 * Every stored history stands for referrals that are running in production: the current
 * workflow code must replay each one without a non-determinism error.
 */
describe('stored histories replay with the current workflow code', () => {
  let workflowBundle: WorkflowBundleWithSourceMap;
  beforeAll(async () => {
    workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: quiet });
  });

  it('has a stored history for every scenario', () => {
    expect(files.map((f) => f.replace(/\.json$/, ''))).toEqual(expect.arrayContaining(scenarios.map((s) => s.name)));
  });

  it.each(files)('%s', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')));
    await expect(Worker.runReplayHistory({ workflowBundle, replayName: file }, history, file)).resolves.toBeUndefined();
  });
});
