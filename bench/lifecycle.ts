import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Publisher } from '../messaging/kafka.js';
import type { ReferralDetectedV1 } from '../schemas/intake.js';
import { sampleReferrals } from '../scripts/samples/referrals.js';
import { registerSearchAttributes } from '../test/support/time-skipping-attributes.js';
import {
  acknowledgeUpdate,
  chargeDecisionUpdate,
  completeScreeningUpdate,
  completeTaskUpdate,
  contentBlockUpdate,
  followUpUpdate,
  investigationReportUpdate,
  justiceWorkflowId,
  licenceCheckUpdate,
  protectionPlacementUpdate,
  protectionStateQuery,
  protectionWorkflowId,
  referralStateQuery,
  registerCaseUpdate,
  reintegrationPlanUpdate,
  trialUpdateUpdate,
  verdictUpdate,
} from '../workflows/messages.js';
import { createReferralWorker } from '../workers/temporal-worker.js';
import type { BenchContext, Scenario } from './context.js';
import { dataConverter, engineBundle, floorBundle, startFloorWorker } from './engine.js';
import { actor, leadOf, startReferral, workflowId } from './fixtures.js';
import { runsOf, withoutHistory, type Run } from './history.js';
import { figure } from './report.js';
import { stackPaths } from './stack.js';
import { median, round, waitUntil } from './stats.js';

/**
 * 4. Cost of a life: history events and bytes of a referral of each case type driven through its
 * whole lifecycle (referral, justice and protection tracks, every continue-as-new run), against
 * Temporal's per-run limits, and the time to replay each history. Run on Temporal's time-skipping
 * test server, so the real policy's months-long waits (appeal window, follow-ups) pass in seconds.
 * Baseline: the same for the floor workflow of two no-op activities.
 */
export const lifecycleScenario: Scenario = { id: 'lifecycle', number: 4, title: 'cost of a life (history size, replay time)', run };

const EVENT_LIMIT = 51_200;
const BYTES_LIMIT = 50 * 1024 * 1024;
const DAY = 86_400_000;
const MONTH = 30 * DAY;

const nullPublisher: Publisher = { connect: async () => undefined, publish: async () => undefined, disconnect: async () => undefined };

/** Replays of each history: the first is cold (its workflow type's code not yet optimised), the rest warm. */
const REPLAY_ROUNDS = 5;

/**
 * Replays histories one at a time on one replay worker, REPLAY_ROUNDS times over, timing each
 * replay; a warm-up replay first pays for the worker itself. Returns the warm-up's time.
 */
async function timeReplays(bundle: WorkflowBundleWithSourceMap, runs: Run[]): Promise<number> {
  let release: () => void = () => undefined;
  const warm = runs[0]!;
  const items: Array<{ run: Run | undefined; workflowId: string; history: Run['history'] }> = [{ run: undefined, workflowId: `${warm.workflowId}-warm-up`, history: warm.history }];
  for (let round = 0; round < REPLAY_ROUNDS; round++) {
    for (const run of runs) items.push({ run, workflowId: `${run.workflowId}-${run.runId}-${round}`, history: run.history });
  }
  for (const run of runs) run.replaysMs = [];
  let startedAt = 0;
  async function* feed() {
    for (const { workflowId, history } of items) {
      const done = new Promise<void>((resolve) => (release = resolve));
      startedAt = performance.now();
      yield { workflowId, history };
      await done;
    }
  }
  let i = 0;
  let coldMs = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, dataConverter }, feed())) {
    const ms = performance.now() - startedAt;
    if (result.error) throw new Error(`replay of ${result.workflowId} failed: ${result.error.message}`);
    const run = items[i]!.run;
    if (run) run.replaysMs!.push(round(ms, 2));
    else coldMs = ms;
    i++;
    release();
  }
  for (const run of runs) {
    run.replayMs = run.replaysMs![0];
    run.warmReplayMs = median(run.replaysMs!.slice(1));
  }
  return coldMs;
}

interface Life {
  caseType: string;
  reached: string[];
  stoppedAt?: string;
  runs: Run[];
}

/** Drives one referral as far as the workflows let it go; what it reached is recorded step by step. */
async function driveLife(env: TestWorkflowEnvironment, taskQueue: string, ctx: BenchContext, referral: ReferralDetectedV1): Promise<Life> {
  const client = env.client;
  const life: Life = { caseType: referral.facts.caseType, reached: [], runs: [] };
  const lead = leadOf(ctx.policy, referral);
  const { minor, victimAtRisk } = referral.facts.flags;
  const fja = referral.facts.caseType === 'FRAUDULENT_JOB_AD';
  const step = async (name: string, action: () => Promise<unknown>) => {
    if (life.stoppedAt) return;
    try {
      await action();
      life.reached.push(name);
    } catch (err) {
      life.stoppedAt = `${name}: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`;
    }
  };
  const until = async (what: string, probe: () => Promise<boolean>) => {
    const { ok } = await waitUntil(() => probe().catch(() => false), (v) => v, 20_000, 50);
    if (!ok) throw new Error(`${what} not reached`);
  };
  const id = referral.referralId;
  const handle = await startReferral(client, taskQueue, referral, ctx.policy);
  const justice = client.workflow.getHandle(justiceWorkflowId(id));
  const protection = client.workflow.getHandle(protectionWorkflowId(id));
  const prosecutor = actor('PROSECUTION');

  await step('routed', () => until('stage SCREENING', async () => (await handle.query(referralStateQuery)).stage === 'SCREENING'));
  await step('acknowledged', () => handle.executeUpdate(acknowledgeUpdate, { args: [{ actor: actor(lead) }] }));
  await step('screened', () =>
    handle.executeUpdate(completeScreeningUpdate, {
      args: [{ actor: actor(lead), outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk, consent: minor ? 'NOT_REQUIRED' : 'GIVEN' }],
    }),
  );
  await step('tracks started', () => until('both tracks', async () => (await justice.describe()) !== undefined && (await protection.describe()) !== undefined));
  if (fja) {
    await step('content blocked', () => justice.executeUpdate(contentBlockUpdate, { args: [{ actor: actor('PTA'), result: 'BLOCKED' }] }));
    await step('licence checked', () => justice.executeUpdate(licenceCheckUpdate, { args: [{ actor: actor('BEOE'), result: 'UNLICENSED' }] }));
  }
  await step('case registered', () => justice.executeUpdate(registerCaseUpdate, { args: [{ actor: actor(lead), decision: 'REGISTERED', caseNumber: `FIR-${id}` }] }));
  await step('final report', () => justice.executeUpdate(investigationReportUpdate, { args: [{ actor: actor(lead), kind: 'FINAL' }] }));
  await step('charged', () => justice.executeUpdate(chargeDecisionUpdate, { args: [{ actor: prosecutor, decision: 'CHARGED' }] }));
  await step('trial updates', async () => {
    await justice.executeUpdate(trialUpdateUpdate, { args: [{ actor: prosecutor, note: 'charge framed' }] });
    await justice.executeUpdate(trialUpdateUpdate, { args: [{ actor: prosecutor, note: 'prosecution evidence heard' }] });
  });
  await step('verdict', () => justice.executeUpdate(verdictUpdate, { args: [{ actor: prosecutor, verdict: 'CONVICTED' }] }));
  if (victimAtRisk) await step('placed in protection', () => protection.executeUpdate(protectionPlacementUpdate, { args: [{ actor: actor('SWD'), placement: 'SHELTER' }] }));
  await step('reintegration plan', () =>
    protection.executeUpdate(reintegrationPlanUpdate, {
      args: [
        {
          actor: actor('SWD'),
          partner: 'IOM',
          tasks: [
            { taskId: 't1', kind: 'PSYCHOSOCIAL', partner: 'IOM' },
            { taskId: 't2', kind: 'LIVELIHOOD', partner: 'SSDO' },
          ],
        },
      ],
    }),
  );
  await step('partner tasks done', async () => {
    await protection.executeUpdate(completeTaskUpdate, { args: [{ actor: actor('PARTNER', 'PARTNER', 'IOM'), taskId: 't1', outcome: 'DONE' }] });
    await protection.executeUpdate(completeTaskUpdate, { args: [{ actor: actor('PARTNER', 'PARTNER', 'SSDO'), taskId: 't2', outcome: 'DONE' }] });
  });
  for (const month of ctx.policy.protection.followUpMonths) {
    await step(`follow-up ${month} months`, async () => {
      let reintegratedMs = Number.NaN;
      await until('reintegrated', async () => {
        const at = (await protection.query(protectionStateQuery)).timeline.find((e) => e.action === 'REINTEGRATED')?.at;
        reintegratedMs = at ? Date.parse(at) : Number.NaN;
        return Number.isFinite(reintegratedMs);
      });
      const wait = reintegratedMs + month * MONTH + 3_600_000 - (await env.currentTimeMs());
      if (wait > 0) await env.sleep(wait);
      await until(`follow-up ${month} due`, async () => (await protection.query(protectionStateQuery)).sla.some((c) => c.step === `followUp:${month}` && c.status === 'RUNNING'));
      await protection.executeUpdate(followUpUpdate, { args: [{ actor: actor('SWD'), month, status: 'STABLE' }] });
    });
  }
  await step('closed', async () => {
    const outcome = await handle.result();
    if (outcome.stage !== 'CLOSED') throw new Error(`ended at ${outcome.stage}`);
  });
  for (const wid of [workflowId(id), justiceWorkflowId(id), protectionWorkflowId(id)]) {
    life.runs.push(...(await runsOf(client, wid).catch(() => [])));
  }
  return life;
}

async function run(ctx: BenchContext): Promise<void> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: stackPaths().testServerBin } },
    client: { dataConverter },
  });
  const lives: Life[] = [];
  let floorRuns: Run[] = [];
  let engineColdMs = 0;
  let floorColdMs = 0;
  try {
    await registerSearchAttributes(env);
    const taskQueue = 'bench-lifecycle';
    const worker = await createReferralWorker({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      activityDeps: { publisher: nullPublisher, topics: { intake: 'i', actions: 'a', deadLetter: 'd', events: 'e', notifyPrefix: 'n.' }, source: 'urn:bench' },
      workflowBundle: (await engineBundle()).bundle,
      dataConverter,
    });
    const floor = await startFloorWorker({ connection: env.nativeConnection, taskQueue: 'bench-lifecycle-floor', onActivity: () => undefined });
    await worker.runUntil(async () => {
      for (const referral of sampleReferrals(`L${Date.now().toString(36)}`)) {
        const life = await driveLife(env, taskQueue, ctx, referral);
        ctx.log(`${life.caseType}: ${life.reached.at(-1) ?? 'nothing'} reached${life.stoppedAt ? ` (stopped at ${life.stoppedAt})` : ''}; ${life.runs.length} runs`);
        lives.push(life);
      }
      const floorId = `floor-life-${Date.now()}`;
      const floorClient = new Client({ connection: env.connection });
      await floorClient.workflow.execute('floorIntakeWorkflow', { workflowId: floorId, taskQueue: 'bench-lifecycle-floor', args: [floorId] });
      floorRuns = await runsOf(floorClient, floorId);
    });
    await floor.stop();
    engineColdMs = await timeReplays((await engineBundle()).bundle, lives.flatMap((l) => l.runs));
    floorColdMs = await timeReplays((await floorBundle()).bundle, floorRuns);
  } finally {
    await env.teardown();
  }

  const s = '4 lifecycle';
  const floorRun = floorRuns[0]!;
  for (const life of lives) {
    const events = life.runs.reduce((n, r) => n + r.events, 0);
    const bytes = life.runs.reduce((n, r) => n + r.protoBytes, 0);
    const replayMs = life.runs.reduce((n, r) => n + (r.replayMs ?? 0), 0);
    const warmReplayMs = life.runs.reduce((n, r) => n + (r.warmReplayMs ?? 0), 0);
    const biggest = life.runs.reduce((a, b) => (b.events > a.events ? b : a), life.runs[0]!);
    const full = life.reached.includes('closed');
    const label = `${life.caseType} (${full ? 'full life' : `to "${life.reached.at(-1) ?? 'start'}"`}, ${life.runs.length} runs)`;
    ctx.figures.push(
      figure({
        scenario: s,
        name: `${label}: history events, all runs`,
        value: events,
        unit: 'events',
        baseline: { name: 'floor workflow', value: floorRun.events },
        target: { text: '< 2,000', met: full ? events < 2000 : null },
      }),
      figure({
        scenario: s,
        name: `${life.caseType}: largest run, events (limit 51,200/run)`,
        value: biggest.events,
        unit: 'events',
        baseline: { name: 'Temporal limit', value: EVENT_LIMIT },
        note: `largest run: ${biggest.workflowId.endsWith('-justice') ? 'justice' : biggest.workflowId.endsWith('-protection') ? 'protection' : 'referral'} track`,
      }),
      figure({ scenario: s, name: `${life.caseType}: history bytes, all runs (proto)`, value: bytes / 1024, unit: 'KiB', baseline: { name: 'floor workflow', value: floorRun.protoBytes / 1024 } }),
      figure({ scenario: s, name: `${life.caseType}: largest run, bytes (limit 50 MiB/run)`, value: biggest.protoBytes / 1024, unit: 'KiB', baseline: { name: 'Temporal limit', value: BYTES_LIMIT / 1024 } }),
      figure({
        scenario: s,
        name: `${life.caseType}: replay time, all runs, first replay`,
        value: replayMs,
        unit: 'ms',
        baseline: { name: 'floor workflow', value: floorRun.replayMs ?? null },
        target: { text: '< 100 ms', met: full ? replayMs < 100 : null },
      }),
      figure({
        scenario: s,
        name: `${life.caseType}: replay time, all runs, warm (median of ${REPLAY_ROUNDS - 1} more)`,
        value: warmReplayMs,
        unit: 'ms',
        baseline: { name: 'floor workflow', value: floorRun.warmReplayMs ?? null },
        target: { text: '< 100 ms', met: full ? warmReplayMs < 100 : null },
      }),
    );
  }
  ctx.details['lifecycle'] = {
    server: 'temporal-test-server (time-skipping)',
    replayWorkerColdStartMs: { engine: engineColdMs, floor: floorColdMs },
    lives: lives.map((l) => ({
      caseType: l.caseType,
      reached: l.reached,
      stoppedAt: l.stoppedAt,
      runs: l.runs.map(withoutHistory),
    })),
    floor: floorRuns.map(withoutHistory),
  };
}
