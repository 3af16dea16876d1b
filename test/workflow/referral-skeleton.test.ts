import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReferralWorker, workflowsPath } from '../../workers/temporal-worker.js';
import { closeReferralUpdate, referralStateQuery } from '../../workflows/messages.js';
import { referralWorkflow } from '../../workflows/referral.js';
import { detected, workflowInput } from '../support/fixtures.js';
import { RecordingPublisher } from '../support/recording-publisher.js';
import { createTimeSkippingEnv } from '../support/time-skipping.js';

const topics = { intake: 'i', actions: 'a', deadLetter: 'd', events: 'e', notifyPrefix: 'notify.' };

describe('referral workflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const publisher = new RecordingPublisher();
  const taskQueue = 'skeleton';

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });
    worker = await createReferralWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      activityDeps: { publisher, topics, source: 'urn:test' },
      workflowBundle,
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  it('routes a cross-border trafficking case to FIA and notifies lead, supporting and informed agencies', async () => {
    const referral = detected();
    const handle = await env.client.workflow.start(referralWorkflow, {
      workflowId: `referral-${referral.referralId}`,
      taskQueue,
      args: [workflowInput(referral)],
    });
    await waitFor(async () => (await handle.query(referralStateQuery)).stage === 'ROUTED');
    const state = await handle.query(referralStateQuery);
    expect(state.routing).toMatchObject({ status: 'ROUTED', lead: 'FIA', ruleId: 'tip-cross-border' });

    const mine = publisher.records.filter((r) => r.key === referral.referralId);
    expect(mine.map((r) => r.topic).sort()).toEqual(['notify.fia', 'notify.moi', 'notify.swd']);
    const lead = mine.find((r) => r.topic === 'notify.fia')!;
    expect(lead.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_type: 'referral.routed.v1',
      ce_id: `referral-${referral.referralId}/routed/FIA`,
      ce_subject: referral.referralId,
    });
    expect(publisher.data(lead)).toMatchObject({ role: 'LEAD', lead: 'FIA', district: 'Lahore', stage: 'ROUTED' });
    // Need-to-know: nothing of the persons part leaves the workflow.
    const everything = JSON.stringify(mine);
    for (const value of ['Test Victim Zainab', '+92-300-1234567', 'injured hand']) expect(everything).not.toContain(value);

    const closed = await handle.executeUpdate(closeReferralUpdate, {
      args: [{ actor: 'officer-1', agency: 'FIA', reason: 'test complete' }],
    });
    expect(closed.timeline.map((e) => e.action)).toEqual(['DETECTED', 'ROUTED', 'CLOSED']);
    expect(await handle.result()).toMatchObject({ stage: 'CLOSED', closedReason: 'test complete' });
  });

  it('escalates a case the charge matrix cannot route, as an explicit UNROUTED state', async () => {
    const referral = detected({ facts: { caseType: 'UNKNOWN' } });
    const handle = await env.client.workflow.start(referralWorkflow, {
      workflowId: `referral-${referral.referralId}`,
      taskQueue,
      args: [workflowInput(referral)],
    });
    await waitFor(async () => (await handle.query(referralStateQuery)).stage === 'UNROUTED');
    const sent = publisher.records.filter((r) => r.key === referral.referralId);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.topic).toBe('notify.ahtc-d');
    expect(sent[0]!.headers['ce_type']).toBe('referral.unrouted.v1');
    await handle.terminate('test done');
  });

  it('rejects a close without a reason, naming the field', async () => {
    const referral = detected();
    const handle = await env.client.workflow.start(referralWorkflow, {
      workflowId: `referral-${referral.referralId}`,
      taskQueue,
      args: [workflowInput(referral)],
    });
    await expect(
      handle.executeUpdate(closeReferralUpdate, { args: [{ actor: 'o', agency: 'FIA', reason: ' ' }] }),
    ).rejects.toMatchObject({ cause: { type: 'InvalidAction', message: expect.stringMatching(/^reason:/) } });
    expect((await handle.query(referralStateQuery)).timeline.map((e) => e.action)).not.toContain('CLOSED');
    await handle.executeUpdate(closeReferralUpdate, { args: [{ actor: 'o', agency: 'FIA', reason: 'done' }] });
    expect(await handle.result()).toMatchObject({ stage: 'CLOSED' });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not reached in time');
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
