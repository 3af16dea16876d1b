import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Topics } from '../../config/env.js';
import { createReferralWorker, workflowsPath } from '../../workers/temporal-worker.js';
import { RecordingPublisher } from './recording-publisher.js';
import { createTimeSkippingEnv } from './time-skipping.js';

export const testTopics: Topics = { intake: 'intake', actions: 'actions', deadLetter: 'dlq', events: 'events', notifyPrefix: 'notify.' };

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** A time-skipping server with a worker for all referral workflows; notifications are recorded in memory. */
export interface WorkflowHarness {
  env: TestWorkflowEnvironment;
  publisher: RecordingPublisher;
  taskQueue: string;
  stop(): Promise<void>;
}

export async function startWorkflowHarness(taskQueue = 'referrals-test'): Promise<WorkflowHarness> {
  const env = await createTimeSkippingEnv();
  const publisher = new RecordingPublisher();
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: quiet });
  const worker: Worker = await createReferralWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activityDeps: { publisher, topics: testTopics, source: 'urn:test', committeeJurisdictionTopics: true },
    workflowBundle: await bundle,
  });
  const running = worker.run();
  return {
    env,
    publisher,
    taskQueue,
    async stop() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached in time`);
}
