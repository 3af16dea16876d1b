import type { Client } from '@temporalio/client';
import { closeReferralUpdate, referralStateQuery } from '../../workflows/messages.js';
import { detected, workflowInput } from '../support/fixtures.js';

/**
 * Scenarios whose histories are captured into test/histories/ by `npm run capture-history`.
 * A history captured once is never re-captured: it stands for referrals already running in
 * production, which every later version of the workflow must still replay.
 */
export interface Scenario {
  name: string;
  run(client: Client, taskQueue: string): Promise<string>;
}

async function untilStage(handle: { query: (q: typeof referralStateQuery) => Promise<{ stage: string }> }, stage: string) {
  for (let i = 0; i < 200; i++) {
    if ((await handle.query(referralStateQuery)).stage === stage) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`stage ${stage} not reached`);
}

export const scenarios: Scenario[] = [
  {
    name: 'v1-skeleton-routed-closed',
    async run(client, taskQueue) {
      const referral = detected({ referralId: 'HIST-SKELETON-1' });
      const handle = await client.workflow.start('referralWorkflow', {
        workflowId: `referral-${referral.referralId}`,
        taskQueue,
        args: [workflowInput(referral)],
      });
      await untilStage(handle, 'ROUTED');
      await handle.executeUpdate(closeReferralUpdate, { args: [{ actor: 'officer-7', agency: 'FIA', reason: 'merged into another referral' }] });
      await handle.result();
      return handle.workflowId;
    },
  },
  {
    name: 'v1-skeleton-unrouted-open',
    async run(client, taskQueue) {
      const referral = detected({ referralId: 'HIST-SKELETON-2', facts: { caseType: 'UNKNOWN' } });
      const handle = await client.workflow.start('referralWorkflow', {
        workflowId: `referral-${referral.referralId}`,
        taskQueue,
        args: [workflowInput(referral)],
      });
      await untilStage(handle, 'UNROUTED');
      return handle.workflowId;
    },
  },
];
