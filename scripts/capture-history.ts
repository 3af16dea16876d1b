import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { createReferralWorker } from '../workers/temporal-worker.js';
import { scenarios } from '../test/replay/scenarios.js';
import { registerSearchAttributes } from '../test/support/time-skipping-attributes.js';
import { RecordingPublisher } from '../test/support/recording-publisher.js';
import { readStackPaths, repoRoot } from '../test/support/stack-paths.js';

const help = `Usage: npm run capture-history -- [--only NAME] [--force]

Runs the replay scenarios of test/replay/scenarios.ts on the time-skipping test server and stores
each history as test/histories/NAME.json, for the replay tests (every run of a workflow that
continued as new: NAME.run1.json, NAME.run2.json, …). An existing history is kept (it stands for
referrals already running) unless --force is given.`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return console.log(help);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dir = `${repoRoot}test/histories`;
  mkdirSync(dir, { recursive: true });
  const todo = scenarios.filter((s) => (!values.only || s.name === values.only) && (values.force || !existsSync(`${dir}/${s.name}.json`)));
  if (todo.length === 0) return console.log('capture-history: nothing to capture (all histories exist; --force to overwrite)');
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: readStackPaths().TEMPORAL_TEST_SERVER_BIN } },
  });
  await registerSearchAttributes(env);
  const taskQueue = 'capture';
  const worker = await createReferralWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activityDeps: { publisher: new RecordingPublisher(), topics: { intake: 'i', actions: 'a', deadLetter: 'd', events: 'e', notifyPrefix: 'n.' }, source: 'urn:capture' },
  });
  await worker.runUntil(async () => {
    for (const scenario of todo) {
      const workflowIds = await scenario.run(env.client, taskQueue, (ms) => env.sleep(ms));
      for (const [i, workflowId] of workflowIds.entries()) {
        const base = i === 0 ? scenario.name : `${scenario.name}.${workflowId.split('-').pop()}`;
        const runs = await runsOf(env.client, workflowId);
        for (const [k, history] of runs.entries()) {
          const file = runs.length === 1 ? `${base}.json` : `${base}.run${k + 1}.json`;
          writeFileSync(`${dir}/${file}`, historyToJSON(history));
          console.log(`capture-history: ${file} (${history.events?.length ?? 0} events)`);
        }
      }
    }
  });
  await env.teardown();
}

/**
 * Every run of a workflow, first to last: a run that continued as new is history in production too
 * (its replay produces the continue-as-new command, with what it carries).
 */
async function runsOf(client: Client, workflowId: string): Promise<History[]> {
  const runs: History[] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.unshift(history);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) return runs;
  }
}

main().catch((err: unknown) => {
  console.error('capture-history:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
