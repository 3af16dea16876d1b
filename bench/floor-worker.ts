import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { FloorActivities } from './floor-workflows.js';

/**
 * The baseline worker process: the smallest worker of the same shape as the engine's (same SDK,
 * same `node --import tsx`, workflows from a prebuilt bundle or bundled at start) running the baseline
 * workflows. Started by bench/open-referrals.ts; prints the SDK's log lines and one line per
 * activity (`noop <id> <step> <epoch ms>`), which the bench reads.
 */
Runtime.install({ logger: new DefaultLogger('INFO', (entry) => console.log(`${entry.message} ${JSON.stringify(entry.meta ?? {})}`)) });
const connection = await NativeConnection.connect({ address: process.env['TEMPORAL_ADDRESS'] ?? '127.0.0.1:7233' });
const activities: FloorActivities = {
  async noop(id, step) {
    console.log(`noop ${id} ${step} ${Date.now()}`);
  },
};
// A prebuilt bundle when the bench gives one (as the engine's worker gets), else bundled from source.
const prebuilt = process.env['FLOOR_WORKFLOW_BUNDLE'];
const worker = await Worker.create({
  connection,
  taskQueue: process.env['TEMPORAL_TASK_QUEUE'] ?? 'bench-floor',
  ...(prebuilt ? { workflowBundle: { codePath: prebuilt } } : { workflowsPath: new URL('./floor-workflows.ts', import.meta.url).pathname }),
  activities,
});
await worker.run();
await connection.close();
