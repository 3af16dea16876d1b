import type { BenchContext, Scenario } from './context.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReferralService } from '../api/referral-service.js';
import { priorityOf } from '../domain/priority.js';
import { routeCase } from '../domain/routing.js';
import { protectionStateQuery, protectionWorkflowId, reintegrationPlanUpdate } from '../workflows/messages.js';
import { PartnerTasksOpenKey } from '../workflows/search-attributes.js';
import type { ProtectionInput } from '../workflows/types.js';
import { ChildEngine, engineBundle, floorBundle, RUNNING_LINE } from './engine.js';
import { actor, leadOf, plainDetections, startReferral, withSla } from './fixtures.js';
import { allTopics, benchTopics } from './kafka.js';
import { figure } from './report.js';
import { benchEngineSecurityEnv, benchStack, repoRoot, temporalDbBytes } from './stack.js';
import { pool, round, sleep, summarize, waitUntil } from './stats.js';

/**
 * 3. Many open referrals: referrals waiting on their SLA timers, with the engine's worker as a
 * child process: its RSS, the Temporal database's growth per referral, and how long a fresh
 * worker takes to poll. Then M referrals whose acknowledgement deadlines all fall within one
 * minute (each with a bench copy of the policy whose deadline is seconds away): how late the
 * breach notifications arrive on Kafka. Baselines come from a minimal worker process
 * (bench/floor-worker.ts): its idle RSS and start-up, minimal open workflows holding one timer,
 * and minimal timer workflows due at the same instants as the breaches. With the referrals open,
 * protection tracks with a partner task each: the p99 of the partner task list (`/partner/tasks`'s
 * service call), against listing every track and querying each, as it was before PartnerTasksOpen.
 */
export const openReferralsScenario: Scenario = { id: 'open-referrals', number: 3, title: 'many open referrals, deadlines in the same minute', run };

const MiB = 1024;
/** Partner organisations (config/kafka-access.json) the bench's tracks give their task to, in turn. */
const PARTNERS = ['IOM', 'SSDO', 'ICMPD', 'IRARA'] as const;
/** The organisation whose task list is measured. */
const MEASURED_PARTNER = PARTNERS[0];

/** The engine's default sticky cache (config/env.ts), set explicitly so the figures can name it. */
const CACHE_SIZE = 450;

/** NODE_OPTIONS the engine's image runs with (its Dockerfile's ENV). */
function imageNodeOptions(): string {
  const line = /^ENV NODE_OPTIONS=(.+)$/m.exec(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
  if (!line) throw new Error('Dockerfile sets no NODE_OPTIONS');
  return line[1]!.trim();
}

interface SlaSeen {
  kind: string;
  deadlineMs: number;
  firedMs: number;
  at: number;
}

/** Least-squares slope of y over x. */
function slope(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? Number.NaN : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
}

async function run(ctx: BenchContext): Promise<void> {
  const target = ctx.quick ? 1000 : 10_000;
  const openBoxMs = ctx.quick ? 12_000 : 370_000;
  const m = ctx.quick ? 100 : 1000;
  const windowMs = ctx.quick ? 10_000 : 60_000;
  const stamp = Date.now().toString(36);
  const topics = benchTopics(`bench-open-${stamp}`);
  await ctx.kafka.createTopics(allTopics(topics));
  const taskQueue = `bench-open-${stamp}`;
  const floorQueue = `bench-open-floor-${stamp}`;
  // Both workers load workflow bundles built ahead of time, as the engine's image does
  // (npm run bundle-workflows); one more fresh engine worker bundles from source, for comparison.
  const engineBundleFile = join(benchStack.dir, `engine-workflows-${stamp}.js`);
  const floorBundleFile = join(benchStack.dir, `floor-workflows-${stamp}.js`);
  writeFileSync(engineBundleFile, (await engineBundle()).bundle.code);
  writeFileSync(floorBundleFile, (await floorBundle()).bundle.code);
  const engineEnv = {
    WORKER_WORKFLOW_BUNDLE: engineBundleFile,
    WORKER_MAX_CACHED_WORKFLOWS: String(CACHE_SIZE),
    // The image's heap budget (Dockerfile), unless BENCH_ENGINE_NODE_OPTIONS says otherwise.
    NODE_OPTIONS: process.env['BENCH_ENGINE_NODE_OPTIONS'] ?? imageNodeOptions(),
    ENGINE_ROLES: 'worker',
    LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: ctx.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    KAFKA_BROKERS: ctx.brokers,
    KAFKA_CLIENT_ID: `bench-open-${stamp}`,
    KAFKA_TOPIC_INTAKE: topics.intake,
    KAFKA_TOPIC_ACTIONS: topics.actions,
    KAFKA_TOPIC_DEAD_LETTER: topics.deadLetter,
    KAFKA_TOPIC_EVENTS: topics.events,
    KAFKA_TOPIC_NOTIFY_PREFIX: topics.notifyPrefix,
    ...benchEngineSecurityEnv(),
  };
  const floorEnv = (queue: string) => ({ TEMPORAL_ADDRESS: ctx.temporalAddress, TEMPORAL_TASK_QUEUE: queue, FLOOR_WORKFLOW_BUNDLE: floorBundleFile });

  // Routed and SLA notifications on the lead's topic (all referrals here are smuggling cases: FIA leads).
  const referrals = plainDetections(`O${stamp}`, target);
  const lead = leadOf(ctx.policy, referrals[0]!);
  const routed = new Map<string, number>();
  const sla = new Map<string, SlaSeen[]>();
  await ctx.kafka.collect([`${topics.notifyPrefix}${lead.toLowerCase()}`], (r) => {
    if (!r.key || !r.value) return;
    if (r.headers['ce_type'] === 'referral.routed.v1') routed.set(r.key, r.at);
    if (r.headers['ce_type'] === 'referral.sla.v1') {
      const data = JSON.parse(r.value.toString()) as { kind: string; deadline: string };
      const seen = sla.get(r.key) ?? [];
      seen.push({ kind: data.kind, deadlineMs: Date.parse(data.deadline), firedMs: Date.parse(r.headers['ce_time'] ?? ''), at: r.at });
      sla.set(r.key, seen);
    }
  });

  const a = new ChildEngine(engineEnv);
  const f = new ChildEngine(floorEnv(floorQueue), 'bench/floor-worker.ts');
  const results: Record<string, unknown> = {};
  try {
    for (const [name, child] of [['engine', a], ['minimal', f]] as const) {
      if ((await child.lineAt(RUNNING_LINE, 120_000)) === undefined) throw new Error(`the ${name} worker did not start:\n${child.lastLines()}`);
    }
    await sleep(2_000);
    const idle = a.memory();
    const floorIdle = f.memory();

    // --- open referrals on worker A: started as fast as it routes them (at most 50 waiting), within the time box ---
    const dbBefore = temporalDbBytes();
    const samples: Array<[number, number]> = [];
    const sampler = setInterval(() => {
      const rss = a.memory()?.rssKiB;
      if (rss !== undefined) samples.push([routed.size, rss]);
    }, 2_000);
    let started = 0;
    const t0 = Date.now();
    const openUntil = t0 + openBoxMs;
    try {
      await pool(referrals, 16, async (referral) => {
        while (started - routed.size > 50 && Date.now() < openUntil) await sleep(50);
        if (Date.now() > openUntil) return;
        started++;
        await startReferral(ctx.client, taskQueue, referral, ctx.policy);
      });
      await waitUntil(() => routed.size, (n) => n >= started, 60_000, 200);
    } finally {
      clearInterval(sampler);
    }
    const openSeconds = (Date.now() - t0) / 1000;
    const open = routed.size;
    ctx.log(`${open} referrals open (of ${target}) after ${round(openSeconds)} s`);
    await sleep(3_000);
    const loaded = a.memory();
    const dbAfter = temporalDbBytes();
    // Worker A answers the tracks' queries: the partner task list is measured while it runs.
    results['partnerTasks'] = await partnerTasks(ctx, taskQueue, `T${stamp}`, ctx.quick ? 100 : 1000, ctx.quick ? 20 : 50);
    await a.stop();

    // --- baseline: minimal open workflows, one timer each, on the minimal worker, sampled the same way ---
    const floorOpen = Math.max(1, Math.min(open, ctx.quick ? 100 : 500));
    const floorDbBefore = temporalDbBytes();
    const floorSamples: Array<[number, number]> = [];
    let floorStarted = 0;
    const floorSampler = setInterval(() => {
      const rss = f.memory()?.rssKiB;
      if (rss !== undefined) floorSamples.push([floorStarted, rss]);
    }, 1_000);
    try {
      await pool(Array.from({ length: floorOpen }, (_, i) => `floor-open-${stamp}-${i}`), 16, async (id) => {
        await ctx.floorClient.workflow.start('floorOpenWorkflow', { workflowId: id, taskQueue: floorQueue });
        floorStarted++;
      });
      await sleep(3_000);
    } finally {
      clearInterval(floorSampler);
    }
    const floorDbAfter = temporalDbBytes();
    const floorLoaded = f.memory();

    // --- a fresh worker B: time to poll, and to route a referral started as it spawns ---
    const b = new ChildEngine(engineEnv);
    try {
      const probe = plainDetections(`P${stamp}`, 1)[0]!;
      await startReferral(ctx.client, taskQueue, probe, ctx.policy);
      const running = await b.lineAt(RUNNING_LINE, 120_000);
      if (running === undefined) throw new Error(`the fresh engine worker did not start:\n${b.lastLines()}`);
      const probeRouted = await waitUntil(() => routed.get(probe.referralId), (v) => v !== undefined, 60_000, 20);
      const f2 = new ChildEngine(floorEnv(`${floorQueue}-startup`), 'bench/floor-worker.ts');
      const f2Running = await f2.lineAt(RUNNING_LINE, 120_000);
      await f2.stop();
      const startup: Results['startup'] = {
        running: running - b.spawnedAt,
        probeRouted: probeRouted.value === undefined ? undefined : probeRouted.value - b.spawnedAt,
        minimal: f2Running === undefined ? undefined : f2Running - f2.spawnedAt,
      };
      ctx.log(`fresh worker polls after ${startup.running} ms with a prebuilt bundle (minimal worker ${startup.minimal} ms)`);

      // --- M acknowledgement deadlines spread over one window; M minimal timers due at the same instants ---
      // Each referral gets its own deadline (the policy travels in the workflow input), counted so
      // that all fall inside the window; the window opens once all are expected to be started and
      // routed, at half the rate the open phase achieved (the figure says if the starts overran).
      const rate = Math.max(1, open / openSeconds);
      // M is cut on a machine too slow to start them in about two minutes (12 s in a quick run).
      const mUsed = Math.min(m, Math.max(20, Math.round(rate * (ctx.quick ? 12 : 120))));
      const due = plainDetections(`D${stamp}`, mUsed);
      const windowStart = Date.now() + Math.round((mUsed / rate) * 2 * 1000 + (mUsed / 30) * 1000) + 10_000;
      const dueAtOf = (i: number) => windowStart + Math.round((i * windowMs) / mUsed);
      // At most 10 waiting to be routed: a clock starts when its referral is routed, so starts must keep pace.
      let dueStarted = 0;
      const dueRouted = () => due.filter((r) => routed.has(r.referralId)).length;
      await pool(due, 16, async (referral, i) => {
        while (dueStarted - dueRouted() > 10) await sleep(20);
        dueStarted++;
        const policy = withSla(ctx.policy, { acknowledge: { hours: Math.max(1_000, dueAtOf(i) - Date.now()) / 3_600_000 } });
        await startReferral(ctx.client, taskQueue, referral, policy);
      });
      // The baseline timers next (their start time does not matter, only their due instants).
      const floorFireAt = new Map<string, number>(due.map((_, i) => [`floor-timer-${stamp}-${i}`, dueAtOf(i)]));
      await pool([...floorFireAt], 16, ([id, at]) => ctx.floorClient.workflow.start('floorTimerWorkflow', { workflowId: id, taskQueue: floorQueue, args: [id, at] }));
      const startsDoneBy = Date.now() - windowStart;
      const breachOf = (id: string) => sla.get(id)?.find((s) => s.kind === 'BREACH');
      await waitUntil(() => due.filter((r) => breachOf(r.referralId)).length, (n) => n === mUsed, Math.max(0, windowStart + windowMs - Date.now()) + 60_000, 500);
      const late = { breach: [] as number[], fired: [] as number[], floor: [] as number[] };
      for (const r of due) {
        const seen = sla.get(r.referralId) ?? [];
        const breach = seen.find((s) => s.kind === 'BREACH');
        if (breach) {
          late.breach.push(breach.at - breach.deadlineMs);
          late.fired.push(breach.firedMs - breach.deadlineMs);
        }
      }
      for (const line of f.lines) {
        const hit = /^noop (\S+) fired (\d+)$/.exec(line.text);
        const fireAt = hit ? floorFireAt.get(hit[1]!) : undefined;
        if (hit && fireAt !== undefined) late.floor.push(Number(hit[2]) - fireAt);
      }
      const dueAt = due.map((r) => breachOf(r.referralId)?.deadlineMs).filter((d): d is number => d !== undefined);
      Object.assign(results, {
        target,
        open,
        openSeconds,
        openBoxMs,
        rssKiBByOpen: samples,
        floorRssKiBByOpen: floorSamples,
        memory: { idle, loaded, floorIdle, floorLoaded, afterDeadlines: b.memory() },
        db: { before: dbBefore, after: dbAfter, floorOpen, floorBefore: floorDbBefore, floorAfter: floorDbAfter },
        startup,
        deadlines: {
          m: mUsed,
          mWanted: m,
          windowMs,
          startsDoneBy,
          received: dueAt.length,
          spreadMs: dueAt.length ? Math.max(...dueAt) - Math.min(...dueAt) : 0,
          breach: summarize(late.breach),
          fired: summarize(late.fired),
          floor: summarize(late.floor),
        },
      });
      await b.stop();
      // The same engine worker bundling workflows/ from source at its start (as `npm start` does).
      const { WORKER_WORKFLOW_BUNDLE: _prebuilt, ...fromSourceEnv } = engineEnv;
      const c = new ChildEngine({ ...fromSourceEnv, TEMPORAL_TASK_QUEUE: `${taskQueue}-from-source` });
      try {
        const cRunning = await c.lineAt(RUNNING_LINE, 120_000);
        const cBundled = await c.lineAt(/Workflow bundle created/, 0);
        await sleep(2_000);
        Object.assign(startup, {
          fromSource: cRunning === undefined ? undefined : cRunning - c.spawnedAt,
          fromSourceBundled: cBundled === undefined ? undefined : cBundled - c.spawnedAt,
          fromSourceRssKiB: c.memory()?.rssKiB,
        });
        ctx.log(`a worker bundling from source polls after ${startup.fromSource} ms`);
      } finally {
        await c.stop();
      }
    } finally {
      await b.stop();
    }
  } finally {
    await a.stop();
    await f.stop();
  }
  report(ctx, results as unknown as Results);
}

interface PartnerTaskResults {
  tracks: number;
  partnerTracks: number;
  tasksReturned: number;
  openSeconds: number;
  service: ReturnType<typeof summarize>;
  list: ReturnType<typeof summarize>;
  everyTrack: ReturnType<typeof summarize>;
}

/**
 * `tracks` protection tracks started as a referral's screening starts them (their parent is absent:
 * a track carries on when it cannot signal it), each given a one-task plan for the next of
 * PARTNERS. Then `calls` partner task lists for MEASURED_PARTNER, one after another, through the
 * API's own ReferralService; the visibility list alone; and the way before PartnerTasksOpen
 * (every running track listed and queried at once), fewer times since each call queries all.
 */
async function partnerTasks(ctx: BenchContext, taskQueue: string, prefix: string, tracks: number, calls: number): Promise<PartnerTaskResults> {
  const t0 = Date.now();
  await pool(plainDetections(prefix, tracks), 16, async (referral, i) => {
    const routing = routeCase(ctx.policy, referral.facts);
    if (routing.status !== 'ROUTED') throw new Error(`bench referral ${referral.referralId} does not route`);
    const input: ProtectionInput = {
      referralId: referral.referralId,
      parentWorkflowId: `referral-${referral.referralId}`,
      policy: ctx.policy,
      urgent: false,
      priority: priorityOf(referral.facts.flags),
      province: referral.facts.location.province,
      district: referral.facts.location.district,
      routing,
      victimAtRisk: false,
      identifiedAt: new Date().toISOString(),
    };
    const handle = await ctx.client.workflow.start('protectionWorkflow', { workflowId: protectionWorkflowId(referral.referralId), taskQueue, args: [input] });
    const partner = PARTNERS[i % PARTNERS.length]!;
    await handle.executeUpdate(reintegrationPlanUpdate, { args: [{ actor: actor('SWD'), partner, tasks: [{ taskId: 't1', kind: 'SHELTER', partner }] }] });
  });
  const openSeconds = (Date.now() - t0) / 1000;
  const partnerTracks = Math.ceil(tracks / PARTNERS.length);
  const query = `WorkflowType = 'protectionWorkflow' AND ExecutionStatus = 'Running' AND ${PartnerTasksOpenKey.name} = '${MEASURED_PARTNER}'`;
  const listed = () => ctx.client.workflowService.listWorkflowExecutions({ namespace: ctx.client.options.namespace, query, pageSize: 1000 });
  // Visibility trails the upserts by a moment: measure once it shows every track the bench opened.
  await waitUntil(async () => (await listed()).executions?.length ?? 0, (n) => n >= partnerTracks, 60_000, 500);
  const service = new ReferralService(ctx.client, { client: ctx.client, taskQueue, policy: ctx.policy }, { url: '', namespace: ctx.client.options.namespace });
  const timed = async <T>(times: number, call: () => Promise<T>) => {
    const ms: number[] = [];
    let last: T | undefined;
    for (let i = 0; i < times; i++) {
      const start = performance.now();
      last = await call();
      ms.push(performance.now() - start);
    }
    return { ms, last: last! };
  };
  const viaService = await timed(calls, () => service.partnerTasks(MEASURED_PARTNER));
  const viaList = await timed(calls, listed);
  const everyTrack = await timed(Math.max(3, Math.round(calls / 10)), async () => {
    const ids: string[] = [];
    for await (const wf of ctx.client.workflow.list({ query: `WorkflowType = 'protectionWorkflow' AND ExecutionStatus = 'Running'` })) ids.push(wf.workflowId);
    const states = await Promise.allSettled(ids.map((id) => ctx.client.workflow.getHandle(id).query(protectionStateQuery)));
    return states.flatMap((s) => (s.status === 'fulfilled' ? s.value.tasks.filter((t) => t.partner === MEASURED_PARTNER) : []));
  });
  const tasksReturned = viaService.last.length;
  ctx.log(`partner tasks: ${tasksReturned} ${MEASURED_PARTNER} tasks of ${tracks} tracks; p99 ${round(summarize(viaService.ms).p99)} ms (every track queried: ${round(summarize(everyTrack.ms).p99)} ms)`);
  if (everyTrack.last.length !== tasksReturned) ctx.log(`partner tasks: the way before found ${everyTrack.last.length} tasks, the list ${tasksReturned}`);
  return { tracks, partnerTracks, tasksReturned, openSeconds, service: summarize(viaService.ms), list: summarize(viaList.ms), everyTrack: summarize(everyTrack.ms) };
}

interface Results {
  target: number;
  open: number;
  openSeconds: number;
  openBoxMs: number;
  rssKiBByOpen: Array<[number, number]>;
  floorRssKiBByOpen: Array<[number, number]>;
  memory: Record<'idle' | 'loaded' | 'floorIdle' | 'floorLoaded', { rssKiB: number; hwmKiB: number } | undefined>;
  db: { before: number; after: number; floorOpen: number; floorBefore: number; floorAfter: number };
  startup: { running: number; probeRouted?: number; minimal?: number; fromSource?: number; fromSourceBundled?: number; fromSourceRssKiB?: number };
  deadlines: { m: number; mWanted: number; received: number; spreadMs: number; startsDoneBy: number } & Record<'breach' | 'fired' | 'floor', ReturnType<typeof summarize>>;
  partnerTasks: PartnerTaskResults;
}

function report(ctx: BenchContext, r: Results): void {
  const s = '3 open referrals';
  const mib = (kib: number | undefined) => (kib === undefined ? null : kib / MiB);
  const { idle, loaded, floorIdle, floorLoaded } = r.memory;
  const d = r.deadlines;
  const pt = r.partnerTasks;
  const window = `${d.received} deadlines in ${round(d.spreadMs / 1000)} s`;
  ctx.figures.push(
    figure({ scenario: s, name: 'worker RSS, idle', value: mib(idle?.rssKiB), unit: 'MiB', baseline: { name: 'minimal worker idle', value: mib(floorIdle?.rssKiB) } }),
    figure({
      scenario: s,
      name: `worker RSS with ${r.open} referrals open`,
      value: mib(loaded?.rssKiB),
      unit: 'MiB',
      baseline: { name: 'same worker idle', value: mib(idle?.rssKiB) },
      target: { text: '< 600 MB at 10,000', met: loaded && r.open >= 10_000 ? (loaded.rssKiB * 1024) / 1e6 < 600 : loaded && (loaded.rssKiB * 1024) / 1e6 >= 600 ? false : null },
      note: `${r.open} of ${r.target} opened in ${round(r.openSeconds)} s (time box ${r.openBoxMs / 1000} s); peak ${round(mib(loaded?.hwmKiB) ?? Number.NaN)} MiB`,
    }),
    figure({
      scenario: s,
      name: 'worker RSS growth per referral opened (slope of samples)',
      value: slope(r.rssKiBByOpen),
      unit: 'KiB',
      // A few hundred minimal workflows move RSS less than the collector does: no baseline from so few.
      baseline: { name: 'minimal open workflow', value: r.db.floorOpen >= 500 ? slope(r.floorRssKiBByOpen) : null },
      note: `RSS as the kernel sees it (cached workflows and garbage not yet collected); minimal worker ${round(mib(floorIdle?.rssKiB) ?? Number.NaN)} → ${round(mib(floorLoaded?.rssKiB) ?? Number.NaN)} MiB with ${r.db.floorOpen} open${r.db.floorOpen < 500 ? ' (too few for a slope)' : ''}`,
    }),
    figure({
      scenario: s,
      name: `worker RSS growth per referral opened once the cache is full (past ${2 * CACHE_SIZE} open)`,
      value: r.rssKiBByOpen.filter(([n]) => n >= 2 * CACHE_SIZE).length >= 5 ? slope(r.rssKiBByOpen.filter(([n]) => n >= 2 * CACHE_SIZE)) : null,
      unit: 'KiB',
      baseline: { name: 'slope over all samples', value: slope(r.rssKiBByOpen) },
      note: `WORKER_MAX_CACHED_WORKFLOWS=${CACHE_SIZE}: referrals past the cache are evicted and replayed at their next task; what stays is what the server holds`,
    }),
    figure({
      scenario: s,
      name: 'Temporal DB growth per open referral',
      value: (r.db.after - r.db.before) / Math.max(1, r.open) / 1024,
      unit: 'KiB',
      baseline: { name: 'minimal open workflow', value: (r.db.floorAfter - r.db.floorBefore) / r.db.floorOpen / 1024 },
    }),
    figure({
      scenario: s,
      name: 'fresh worker: spawn → polling (prebuilt workflow bundle)',
      value: r.startup.running,
      unit: 'ms',
      baseline: { name: 'minimal worker, prebuilt bundle', value: r.startup.minimal ?? null },
      note: `spawn → probe referral routed ${r.startup.probeRouted ?? '?'} ms`,
    }),
    figure({
      scenario: s,
      name: 'fresh worker: spawn → polling, bundling workflows from source',
      value: r.startup.fromSource ?? null,
      unit: 'ms',
      baseline: { name: 'same worker, prebuilt bundle', value: r.startup.running },
      note: `of which spawn → bundle built ${r.startup.fromSourceBundled ?? '?'} ms; idle RSS ${round(mib(r.startup.fromSourceRssKiB) ?? Number.NaN)} MiB (prebuilt: ${round(mib(idle?.rssKiB) ?? Number.NaN)} MiB)`,
    }),
    figure({ scenario: s, name: `breach notification lateness p50 (${window})`, value: d.breach.p50, unit: 'ms', baseline: { name: 'minimal timer', value: d.floor.p50 } }),
    figure({
      scenario: s,
      name: `breach notification lateness p99 (${window})`,
      value: d.breach.p99,
      unit: 'ms',
      baseline: { name: 'minimal timer', value: d.floor.p99 },
      target: { text: '< 2,000 ms', met: d.received === d.m ? d.breach.p99 < 2000 : false },
      note:
        `fired by the workflow p50 ${d.fired.p50} ms, p99 ${d.fired.p99} ms after the deadline (workflow clock)` +
        (d.m < d.mWanted ? `; ${d.m} of ${d.mWanted} deadlines (cut to what this machine starts in time)` : '') +
        (d.startsDoneBy > 0 ? `; the last start ended ${round(d.startsDoneBy / 1000)} s into the window` : ''),
    }),
    figure({
      scenario: s,
      name: `/partner/tasks p99 with ${r.open} referrals and ${pt.tracks} protection tracks open`,
      value: pt.service.p99,
      unit: 'ms',
      baseline: { name: 'every track listed and queried (before)', value: pt.everyTrack.p99 },
      note:
        `${MEASURED_PARTNER}: ${pt.tasksReturned} tasks on ${pt.partnerTracks} tracks; one visibility list + ${pt.partnerTracks} queries, p50 ${round(pt.service.p50)} ms over ${pt.service.n} calls ` +
        `(before: ${pt.tracks} queries, p50 ${round(pt.everyTrack.p50)} ms over ${pt.everyTrack.n} calls); tracks opened in ${round(pt.openSeconds)} s`,
    }),
    figure({
      scenario: s,
      name: `/partner/tasks: its visibility list alone p99 (PartnerTasksOpen = '${MEASURED_PARTNER}')`,
      value: pt.list.p99,
      unit: 'ms',
      note: `p50 ${round(pt.list.p50)} ms over ${pt.list.n} calls, ${pt.partnerTracks} rows`,
    }),
  );
  ctx.details['openReferrals'] = r;
}
