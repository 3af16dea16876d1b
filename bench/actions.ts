import { cpus } from 'node:os';
import type { Topics } from '../config/env.js';
import type { ReferralDetectedV1 } from '../schemas/intake.js';
import type { BenchContext, Scenario } from './context.js';
import { startEngine, startFloorWorker, startLanes, type Running } from './engine.js';
import { pokeUpdate } from './floor-workflows.js';
import { acknowledgementRecord, actor, leadOf, plainDetections, startReferral } from './fixtures.js';
import { actionsTopicFor, allTopics, benchTopics, type BenchProducer, type TransportName } from './kafka.js';
import { figure } from './report.js';
import { paced, pool, round, sleep, summarize, waitUntil, type Summary } from './stats.js';
import {
  alternation,
  compare,
  connectionsIn,
  costNote,
  costOf,
  cpuPerItem,
  inRound,
  loadOver,
  orderText,
  pairsText,
  PLAIN,
  pooled,
  SASL,
  transportNames,
  withoutLatencies,
  type BenchTransport,
  type Comparison,
  type Pass,
  type RoundInfo,
} from './transports.js';

/**
 * 2. Agency action round trip: acknowledgements sent as `referral.action.acknowledge.v1` on the
 * lead agency's own actions topic at a steady rate, each to its own open referral, until the acting agency reads
 * `referral.action.accepted.v1` on its topic (actions bridge → Temporal update → answer).
 * Baseline: the Temporal client's executeUpdate of a no-op update on minimal open workflows at
 * the same rate. The main figures on both transports (SASL_SSL and the development PLAINTEXT
 * listener, each with its own engine, topics and referrals) in alternating rounds, then bursts
 * of acknowledgements for the throughput, alternating too. Full run: then a search for the
 * highest rate held 60 s with p99 under 1 s, on SASL_SSL.
 */
export const actionsScenario: Scenario = { id: 'actions', number: 2, title: 'agency action round trip', run };

/** An action's time by leg, over a round. */
interface Legs {
  produce: Summary;
  bridge: Summary;
  answer: Summary;
}

interface Step {
  rate: number;
  seconds: number;
  latency: Summary;
  answered: number;
  sent: number;
}

/** One transport's side of the scenario: its topics, bench clients, reader, engine (worker, actions bridge) and open referrals. */
interface Lane {
  t: BenchTransport;
  tag: string;
  topics: Topics;
  taskQueue: string;
  producer: BenchProducer;
  routed: Set<string>;
  answeredAt: Map<string, number>;
  /** When the bridge built each answer (its `ce_time`, this machine's clock) and when the bench's send of the action was acknowledged. */
  builtAt: Map<string, number>;
  ackedAt: Map<string, number>;
  /** Answers other than "accepted", by rejection code (and the first message of each). */
  rejected: Record<string, { count: number; message: string }>;
  referrals: ReferralDetectedV1[];
  used: number;
  /** Referrals routed per second while opening them, as last measured (a guess until then). */
  openRate: number;
  engine?: Running;
}

async function run(ctx: BenchContext): Promise<void> {
  const stamp = Date.now().toString(36);
  const main = ctx.quick ? { rate: 10, seconds: 10 } : { rate: 20, seconds: 60 };
  // The main figures on both transports, in rounds S P P S of 2.5 s (quick) or S P P S S P P S of 10 s (full).
  const rounds = ctx.quick ? { perTransport: 2, seconds: 2.5 } : { perTransport: 4, seconds: 10 };
  // Throughput: this many acknowledgements sent at once, each to its own referral, S P P S.
  const burstN = ctx.quick ? 15 : 100;
  const budgetUntil = Date.now() + (ctx.quick ? 120_000 : 360_000);
  const lead = leadOf(ctx.policy, plainDetections('x', 1)[0]!);
  const leadActor = actor(lead);

  const lanes = {} as Record<TransportName, Lane>;
  for (const name of transportNames) {
    const tag = name === SASL ? '' : '-plain';
    lanes[name] = {
      t: ctx.transports[name],
      tag: name === SASL ? 's' : 'p',
      topics: benchTopics(`bench-actions-${stamp}${tag}`),
      taskQueue: `bench-actions-${stamp}${tag}`,
      producer: await ctx.transports[name].kafka.producer(),
      routed: new Set(),
      answeredAt: new Map(),
      builtAt: new Map(),
      ackedAt: new Map(),
      rejected: {},
      referrals: [],
      used: 0,
      openRate: 8,
    };
  }
  const sasl = lanes[SASL];
  await ctx.kafka.createTopics(Object.values(lanes).flatMap((l) => allTopics(l.topics)));
  // The lead's topic carries both the routed notifications and the answers to its actions.
  for (const lane of Object.values(lanes)) {
    await lane.t.kafka.collect([`${lane.topics.notifyPrefix}${lead.toLowerCase()}`], (r) => {
      const type = r.headers['ce_type'];
      if (type === 'referral.routed.v1' && r.key) lane.routed.add(r.key);
      else if (type?.startsWith('referral.action.') && r.value) {
        const answer = JSON.parse(r.value.toString()) as { actionId: string; outcome: string; reason?: { code: string; message: string } };
        lane.answeredAt.set(answer.actionId, answer.outcome === 'ACCEPTED' ? r.at : -1);
        const built = Date.parse(r.headers['ce_time'] ?? '');
        if (Number.isFinite(built)) lane.builtAt.set(answer.actionId, built);
        if (answer.outcome !== 'ACCEPTED') {
          const code = answer.reason?.code ?? answer.outcome;
          lane.rejected[code] = { count: (lane.rejected[code]?.count ?? 0) + 1, message: lane.rejected[code]?.message ?? answer.reason?.message ?? '' };
        }
      }
    });
  }
  await startLanes(Object.values(lanes), (lane) =>
    startEngine({
      connection: ctx.connection,
      client: ctx.client,
      brokers: lane.t.brokers,
      transport: lane.t.name,
      taskQueue: lane.taskQueue,
      topics: lane.topics,
      policy: ctx.policy,
      actionsGroup: lane.taskQueue,
    }),
  );

  /**
   * Opens up to `count` more referrals on a lane's engine (as fast as they are routed, at most 50
   * waiting, within the time box) and waits until they are routed, i.e. waiting for acknowledgement.
   */
  const openBoxMs = ctx.quick ? 12_000 : 150_000;
  const open = async (lane: Lane, count: number) => {
    const t0 = Date.now();
    const before = lane.referrals.length;
    const batch = plainDetections(`A${stamp}${lane.tag}-${lane.referrals.length}`, count);
    const routedOf = () => batch.filter((r) => lane.routed.has(r.referralId)).length;
    const until = Date.now() + openBoxMs;
    let started = 0;
    await pool(batch, 16, async (r) => {
      while (started - routedOf() > 50 && Date.now() < until) await sleep(50);
      if (Date.now() > until) return;
      started++;
      await startReferral(ctx.client, lane.taskQueue, r, ctx.policy);
    });
    await waitUntil(routedOf, (n) => n >= started, 60_000, 200);
    lane.referrals.push(...batch.filter((r) => lane.routed.has(r.referralId)));
    if (lane.referrals.length - before >= 20) lane.openRate = (lane.referrals.length - before) / Math.max(1, (Date.now() - t0) / 1000);
  };
  const actionTo = (lane: Lane, referralId: string) => acknowledgementRecord(actionsTopicFor(lane.topics, lead), lead, referralId, leadActor);
  const nextTargets = async (lane: Lane, wanted: number) => {
    if (lane.referrals.length - lane.used < wanted) await open(lane, wanted - (lane.referrals.length - lane.used));
    const targets = lane.referrals.slice(lane.used, lane.used + wanted);
    lane.used += targets.length;
    return targets;
  };
  const answered = async (lane: Lane, sentAt: Map<string, number>) => {
    await waitUntil(() => [...sentAt.keys()].filter((id) => lane.answeredAt.has(id)).length, (n) => n === sentAt.size, 60_000, 200);
    return [...sentAt].filter(([id]) => (lane.answeredAt.get(id) ?? -1) > 0).map(([id, at]) => lane.answeredAt.get(id)! - at);
  };
  /**
   * Where an action's time went: the bench's produce until acknowledged (acks=-1), then until the
   * bridge built the answer (its fetch, the Temporal update), then until the bench read the answer
   * (the bridge's publish, the bench's fetch).
   */
  const legsOf = (lane: Lane, sentAt: Map<string, number>): Legs => {
    const ids = [...sentAt.keys()].filter((id) => (lane.answeredAt.get(id) ?? -1) > 0 && lane.builtAt.has(id) && lane.ackedAt.has(id));
    return {
      produce: summarize(ids.map((id) => lane.ackedAt.get(id)! - sentAt.get(id)!)),
      bridge: summarize(ids.map((id) => lane.builtAt.get(id)! - lane.ackedAt.get(id)!)),
      answer: summarize(ids.map((id) => lane.answeredAt.get(id)! - lane.builtAt.get(id)!)),
    };
  };
  /** Acknowledgements at a fixed rate, each to its own open referral. */
  const step = async (lane: Lane, rate: number, seconds: number): Promise<Step & { latencies: number[]; legs: Legs }> => {
    const targets = await nextTargets(lane, Math.round(rate * seconds));
    const sentAt = new Map<string, number>();
    await Promise.all(
      await paced(rate, targets.length, async (i) => {
        const record = actionTo(lane, targets[i]!.referralId);
        const id = `ack-${targets[i]!.referralId}`;
        sentAt.set(id, Date.now());
        await lane.producer.send(record);
        lane.ackedAt.set(id, Date.now());
      }),
    );
    const latencies = await answered(lane, sentAt);
    return { rate, seconds: targets.length / rate, latency: summarize(latencies), answered: latencies.length, sent: sentAt.size, latencies, legs: legsOf(lane, sentAt) };
  };
  /** `count` acknowledgements sent at once: answers per second from the send to the last answer. */
  const burst = async (lane: Lane, count: number): Promise<Pass> => {
    const targets = await nextTargets(lane, count);
    const records = targets.map((r) => actionTo(lane, r.referralId));
    const sentAt = new Map<string, number>();
    await lane.producer.sendAll(records, 250, (first, n) => {
      const now = Date.now();
      for (let i = first; i < first + n; i++) sentAt.set(`ack-${targets[i]!.referralId}`, now);
    });
    const latencies = await answered(lane, sentAt);
    const first = Math.min(...sentAt.values());
    const last = Math.max(first, ...[...sentAt.keys()].map((id) => lane.answeredAt.get(id) ?? -1));
    const spanMs = Math.max(1, last - first);
    return { perSec: (latencies.length * 1000) / spanMs, latency: summarize(latencies), done: latencies.length, of: sentAt.size, spanMs, latencies };
  };

  type MainRound = Step & { latencies: number[]; legs: Legs; info: RoundInfo };
  type BurstRound = Pass & { info: RoundInfo };
  const mainRounds: MainRound[] = [];
  const burstRounds: BurstRound[] = [];
  const search: Step[] = [];
  let floor: Step;
  try {
    // Every referral the rounds need, opened first, so the rounds follow each other closely.
    const perLane = 5 + main.rate * rounds.seconds * rounds.perTransport + 2 * burstN;
    for (const lane of Object.values(lanes)) await open(lane, perLane);
    ctx.log(`opened ${sasl.referrals.length} referrals on SASL_SSL, ${lanes[PLAIN].referrals.length} on PLAINTEXT (${round(sasl.openRate)}/s, ${round(lanes[PLAIN].openRate)}/s)`);
    for (const lane of Object.values(lanes)) await step(lane, 5, 1); // warm-up: consumer group joined, caches filled
    for (const name of alternation(rounds.perTransport)) {
      const lane = lanes[name];
      const { result, info } = await inRound(lane.t, () => step(lane, main.rate, rounds.seconds));
      mainRounds.push({ ...result, info });
      ctx.log(`${name} at ${main.rate}/s for ${round(result.seconds)} s: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms (load ${info.load.atStart} → ${info.load.atEnd})`);
    }
    for (const name of alternation(2)) {
      const lane = lanes[name];
      const { result, info } = await inRound(lane.t, () => burst(lane, burstN));
      burstRounds.push({ ...result, info });
      ctx.log(`${name}, ${burstN} at once: ${round(result.perSec)} answers/s (${result.done}/${result.of} accepted), p99 ${result.latency.p99} ms`);
    }

    // Full run: the highest rate held for 60 s with p99 under 1 s on SASL_SSL, up or down from the main rate.
    const firstOf = pooledStep(mainRounds.filter((r) => r.info.transport === SASL), main.rate);
    const plainOf = pooledStep(mainRounds.filter((r) => r.info.transport === PLAIN), main.rate);
    ctx.log(`${main.rate}/s for ${round(firstOf.seconds)} s over Kafka: p99 ${firstOf.latency.p99} ms SASL_SSL, ${plainOf.latency.p99} ms PLAINTEXT`);
    if (!ctx.quick) {
      const holds = (s: Step) => s.answered === s.sent && s.latency.p99 < 1000;
      let rate = holds(firstOf) ? main.rate * 2 : main.rate / 2;
      while (rate >= 2.5 && rate <= 160) {
        const estimateMs = (Math.max(0, rate * 60 - (sasl.referrals.length - sasl.used)) / sasl.openRate + 70) * 1000;
        if (Date.now() + estimateMs > budgetUntil) {
          ctx.log(`rate search stopped before ${rate}/s: out of time`);
          break;
        }
        const { latencies: _latencies, legs: _legs, ...s } = await step(sasl, rate, 60);
        search.push(s);
        if (s.seconds < 60) {
          ctx.log(`rate search stopped at ${rate}/s: only ${s.sent} referrals could be opened in time`);
          break;
        }
        ctx.log(`${rate}/s for 60 s: p99 ${s.latency.p99} ms (${s.answered}/${s.sent} answered)`);
        if (holds(s) !== holds(firstOf)) break;
        rate = holds(s) ? rate * 2 : rate / 2;
      }
    }
  } finally {
    await Promise.all(Object.values(lanes).map((l) => l.engine?.stop()));
  }
  for (const lane of Object.values(lanes)) {
    for (const [code, r] of Object.entries(lane.rejected)) ctx.log(`${lane.t.name}: ${r.count} action(s) answered ${code}: ${r.message.slice(0, 200)}`);
  }

  const mainOf = (name: TransportName) => pooledStep(mainRounds.filter((r) => r.info.transport === name), main.rate);
  const burstOf = (name: TransportName) => pooled(burstRounds.filter((r) => r.info.transport === name));
  const first = mainOf(SASL);
  const steps: Step[] = [first, ...search];

  // Baseline: a no-op update through the client on minimal open workflows, same rate, 5 s (quick) or 20 s.
  const floorQueue = `bench-actions-floor-${stamp}`;
  const floorWorker = await startFloorWorker({ connection: ctx.connection, taskQueue: floorQueue, onActivity: () => undefined });
  try {
    const count = Math.max(5, Math.round(main.rate * Math.min(first.seconds, ctx.quick ? 5 : 20)));
    const ids = Array.from({ length: count + 5 }, (_, i) => `floor-update-${stamp}-${i}`);
    await pool(ids, 16, (id) => ctx.floorClient.workflow.start('floorOpenWorkflow', { workflowId: id, taskQueue: floorQueue }));
    const latencies: number[] = [];
    const poke = async (id: string) => {
      const t0 = Date.now();
      await ctx.floorClient.workflow.getHandle(id).executeUpdate(pokeUpdate, { args: [1] });
      return Date.now() - t0;
    };
    for (const id of ids.slice(0, 5)) await poke(id);
    const outcomes = await Promise.all(await paced(main.rate, count, (i) => poke(ids[i + 5]!)));
    for (const o of outcomes) if (typeof o === 'number') latencies.push(o);
    floor = { rate: main.rate, seconds: count / main.rate, latency: summarize(latencies), answered: latencies.length, sent: count };
  } finally {
    await floorWorker.stop();
  }

  const s = '2 actions';
  const label = `at ${first.rate}/s for ${round(first.seconds)} s`;
  const P = mainOf(PLAIN);
  const bS = burstOf(SASL);
  const bP = burstOf(PLAIN);
  const cpu = (name: TransportName) => cpuPerItem(mainRounds.filter((r) => r.info.transport === name).map((r) => ({ info: r.info, done: r.answered })));
  const mainCost = (name: TransportName) => costOf(mainRounds.filter((r) => r.info.transport === name).map((r) => ({ info: r.info, done: r.answered })), name);
  const burstCost = (name: TransportName) => costOf(burstRounds.filter((r) => r.info.transport === name), name);
  const cS = cpu(SASL);
  const cP = cpu(PLAIN);
  const conns = (name: TransportName) => connectionsIn([...mainRounds, ...burstRounds].filter((r) => r.info.transport === name)).opened;
  const load = loadOver([...mainRounds, ...burstRounds]);
  const complete = (x: Step) => x.answered === x.sent;
  // SASL_SSL against PLAINTEXT: means over each transport's rounds (see compare()).
  const tput = compare(burstRounds, (r) => r.perSec);
  const p99 = compare(mainRounds, (r) => r.latency.p99);
  const p50 = compare(mainRounds, (r) => r.latency.p50);
  const legs = Object.fromEntries(
    (['produce', 'bridge', 'answer'] as const).map((leg) => [leg, { p50: compare(mainRounds, (r) => r.legs[leg].p50), p99: compare(mainRounds, (r) => r.legs[leg].p99) }]),
  ) as Record<keyof Legs, { p50: Comparison; p99: Comparison }>;
  const legText = (['produce', 'bridge', 'answer'] as const)
    .map((leg) => `${{ produce: 'produce until acked', bridge: 'then bridge fetch + update', answer: 'then publish + read' }[leg]} p50 ${legs[leg].p50.sasl} vs ${legs[leg].p50.plaintext}, p99 ${legs[leg].p99.sasl} vs ${legs[leg].p99.plaintext} ms`)
    .join('; ');
  ctx.figures.push(
    figure({ scenario: s, name: `action → accepted answer p50 ${label}`, value: first.latency.p50, unit: 'ms', baseline: { name: 'client update, no-op', value: floor.latency.p50 } }),
    figure({
      scenario: s,
      name: `action → accepted answer p99 ${label}`,
      value: first.latency.p99,
      unit: 'ms',
      baseline: { name: 'client update, no-op', value: floor.latency.p99 },
      target: { text: '< 250 ms at 20/s', met: first.rate >= 20 ? complete(first) && first.latency.p99 < 250 : null },
      ...(first.answered < first.sent
        ? { note: `only ${first.answered} of ${first.sent} answered "accepted" within 60 s of the last send` }
        : first.rate < 20
          ? { note: `measured at ${first.rate}/s (quick run); the target is for 20/s` }
          : {}),
    }),
    // SASL_SSL against the development PLAINTEXT listener, rounds interleaved.
    figure({
      scenario: s,
      name: `throughput SASL_SSL / plaintext: answers/s, ${burstN} actions at once (mean of 2 bursts each)`,
      value: tput.sasl,
      unit: '/s',
      baseline: { name: 'PLAINTEXT', value: tput.plaintext },
      target: { text: '≥ 0.90× plaintext', met: bS.done === bS.of && bP.done === bP.of && tput.ratio !== null ? tput.ratio >= 0.9 : false },
      note: `rounds ${orderText(burstRounds)}; ${pairsText(tput)}; pooled p99 ${bS.latency.p99} vs ${bP.latency.p99} ms; ${costNote(burstCost(SASL), burstCost(PLAIN), 'action')}`,
    }),
    figure({
      scenario: s,
      name: `p99 SASL_SSL / plaintext: action → accepted answer at ${main.rate}/s (mean of ${rounds.perTransport} × ${rounds.seconds} s each)`,
      value: p99.sasl,
      unit: 'ms',
      baseline: { name: 'PLAINTEXT', value: p99.plaintext },
      target: { text: '≤ 1.2× plaintext', met: complete(first) && complete(P) && p99.ratio !== null ? p99.ratio <= 1.2 : false },
      note: `rounds ${orderText(mainRounds)}; ${pairsText(p99)}; pooled p99 ${first.latency.p99} vs ${P.latency.p99} ms; p50 ${p50.sasl} vs ${p50.plaintext} ms (mean of rounds); CPU per action SASL_SSL vs PLAINTEXT: broker ${cS.kafka} vs ${cP.kafka} ms, this process ${cS.bench} vs ${cP.bench} ms, Temporal ${cS.temporal} vs ${cP.temporal} ms; ${costNote(mainCost(SASL), mainCost(PLAIN), 'action')}; sockets opened during the rounds: ${conns(SASL)} vs ${conns(PLAIN)}`,
    }),
    figure({
      scenario: s,
      name: `p99 SASL_SSL / plaintext by leg: bridge fetch + update + answer built, at ${main.rate}/s`,
      value: legs.bridge.p99.sasl,
      unit: 'ms',
      baseline: { name: 'PLAINTEXT', value: legs.bridge.p99.plaintext },
      note: `means of rounds, ${legText}`,
    }),
    figure({
      scenario: s,
      name: 'load average (1 min) during the transport rounds, mean',
      value: load.mean,
      unit: '',
      note: `${load.min}–${load.max} at the rounds' starts and ends, on ${cpus().length} cores`,
    }),
  );
  if (!ctx.quick) {
    // The main rate counts when its rounds (4 × 10 s) hold; a searched rate when it held 60 s.
    const held = steps.filter((x) => (x === first || x.seconds >= 60) && x.answered === x.sent && x.latency.p99 < 1000).map((x) => x.rate);
    ctx.figures.push(
      figure({
        scenario: s,
        name: 'highest rate held 60 s with p99 < 1 s (SASL_SSL)',
        value: held.length ? Math.max(...held) : null,
        unit: '/s',
        note: `the main rate over its ${round(first.seconds)} s of rounds, then 60 s steps; steps tried: ${steps.map((x) => `${x.rate}/s → p99 ${x.latency.p99} ms${x.answered < x.sent ? ` (${x.answered}/${x.sent})` : ''}`).join(', ')}`,
      }),
    );
  }
  const leanMain = ({ latencies: _latencies, ...r }: MainRound) => r;
  ctx.details['actions'] = {
    path: 'Kafka actions topic → bridge/actions.ts → Temporal update → answer on the lead topic',
    steps,
    floor,
    referralsOpened: { SASL_SSL: sasl.referrals.length, PLAINTEXT: lanes[PLAIN].referrals.length },
    rejected: { SASL_SSL: sasl.rejected, PLAINTEXT: lanes[PLAIN].rejected },
    transports: {
      compared: { throughput: tput, p99, p50, legs },
      load,
      SASL_SSL: { main: first, mainCost: mainCost(SASL), burst: withoutLatencies(bS), burstCost: burstCost(SASL), cpuMsPerAction: cS, socketsOpenedDuringRounds: conns(SASL) },
      PLAINTEXT: { main: P, mainCost: mainCost(PLAIN), burst: withoutLatencies(bP), burstCost: burstCost(PLAIN), cpuMsPerAction: cP, socketsOpenedDuringRounds: conns(PLAIN) },
      rounds: { main: mainRounds.map(leanMain), bursts: burstRounds.map(withoutLatencies) },
    },
  };
}

/** Paced rounds of one transport as one step: latencies pooled, seconds and counts summed. */
function pooledStep(rounds: ReadonlyArray<Step & { latencies: number[] }>, rate: number): Step {
  const latencies = rounds.flatMap((r) => r.latencies);
  return {
    rate,
    seconds: rounds.reduce((s, r) => s + r.seconds, 0),
    latency: summarize(latencies),
    answered: rounds.reduce((s, r) => s + r.answered, 0),
    sent: rounds.reduce((s, r) => s + r.sent, 0),
  };
}
