import { cpus } from 'node:os';
import type { Topics } from '../config/env.js';
import { intakeRecord } from '../scripts/intake-event.js';
import type { ReferralDetectedV1 } from '../schemas/intake.js';
import type { BenchContext, Scenario } from './context.js';
import { engineBundle, floorBundle, startEngine, startFloorWorker, startLanes, type Running } from './engine.js';
import { detections, isLeadRouted, leadOf, workflowId } from './fixtures.js';
import { fetchRun, withoutHistory, type Run } from './history.js';
import { allTopics, benchTopics, connectionCounts, connectionsBetween, intakeTopicFor, type BenchProducer, type ConnectionCounts, type TransportName } from './kafka.js';
import { figure } from './report.js';
import { paced, pool, round, sleep, summarize, waitUntil } from './stats.js';
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
  type CpuMs,
  type Pass,
  type RoundInfo,
} from './transports.js';

/**
 * 1. Intake throughput and latency: N detections produced to the intake topic as fast as possible,
 * until the lead's routed notification is read back from Kafka; then latency at half that rate.
 * Baselines, same N and same rate: the Temporal floor (the client starting workflows of two no-op
 * activities, as many as the intake path runs) and the Kafka floor (records of the same size,
 * produced and consumed). The engine (intake bridge + worker) and the floor's worker run in this
 * process, as in the integration tests.
 */
export const intakeScenario: Scenario = { id: 'intake', number: 1, title: 'intake throughput and latency', run };

/** A pass with the CPU the stack and this process used meanwhile, charged to its items. */
interface Measured extends Pass {
  /** CPU milliseconds per item: Temporal server, Kafka broker, this process (bridge, worker, producer, reader). */
  cpuMsPerItem?: CpuMs;
}

/** Runs a pass as a round (load, CPU, connections around it) and charges the CPU to its items. */
async function measured(transport: BenchTransport | undefined, work: () => Promise<Pass>): Promise<Measured & { info: RoundInfo }> {
  const { result: p, info } = await inRound(transport, work);
  return { ...p, info, cpuMsPerItem: cpuPerItem([{ info, done: p.done }]) };
}

/** Throughput from the first send to the last arrival, and each item's send → arrival latency. */
function pass(sentAt: Map<string, number>, arrivedAt: (id: string) => number | undefined): Pass {
  const ids = [...sentAt.keys()];
  const arrivals = ids.map((id) => [id, arrivedAt(id)] as const).filter((a): a is readonly [string, number] => a[1] !== undefined);
  const first = Math.min(...sentAt.values());
  const last = Math.max(...arrivals.map(([, at]) => at));
  const spanMs = arrivals.length > 0 ? Math.max(1, last - first) : 0;
  const latencies = arrivals.map(([id, at]) => at - sentAt.get(id)!);
  return { perSec: arrivals.length > 0 ? (arrivals.length * 1000) / spanMs : 0, latency: summarize(latencies), done: arrivals.length, of: ids.length, spanMs, latencies };
}

/** One transport's side of the scenario: its own topics, bench clients, readers and engine (worker, intake bridge). */
interface Lane {
  t: BenchTransport;
  tag: string;
  topics: Topics;
  floorTopic: string;
  producer: BenchProducer;
  /** Kafka-floor records read back, and the routed notifications of the lead agencies. */
  kafkaIn: Map<string, number>;
  routedAt: Map<string, number>;
  /** Resolvers of records awaited one at a time on the Kafka-floor topic. */
  waiting: Map<string, () => void>;
  engine?: Running;
}

async function run(ctx: BenchContext): Promise<void> {
  const maxN = ctx.quick ? 200 : 2000;
  // N is cut to what the engine routes in about this long at the rate its probe showed, so a slow,
  // shared machine still finishes in time (the figures say which N was used). Each transport gets
  // two bursts of N, in the order SASL_SSL, PLAINTEXT, Temporal floor, PLAINTEXT, SASL_SSL.
  const burstSeconds = ctx.quick ? 3 : 30;
  // Half the peak rate: two rounds per transport (S P P S), then the Temporal floor.
  const steadyRoundSeconds = ctx.quick ? 2.5 : 10;
  const floorSteadySeconds = ctx.quick ? 5 : 20;
  const stamp = Date.now().toString(36);
  const lanes = {} as Record<TransportName, Lane>;
  // Sockets and logins of this process's clients on each transport from here to the end of the warm-up: what setting up costs.
  const setupFrom = Object.fromEntries(transportNames.map((t) => [t, connectionCounts(ctx.transports[t].port)])) as Record<TransportName, ConnectionCounts>;
  let setup = {} as Record<TransportName, ConnectionCounts>;
  for (const name of transportNames) {
    const tag = name === SASL ? '' : '-plain';
    const topics = benchTopics(`bench-intake-${stamp}${tag}`);
    lanes[name] = {
      t: ctx.transports[name],
      tag: name === SASL ? 's' : 'p',
      topics,
      floorTopic: `bench-intake-${stamp}${tag}.kafka-floor`,
      producer: await ctx.transports[name].kafka.producer(),
      kafkaIn: new Map(),
      routedAt: new Map(),
      waiting: new Map(),
    };
  }
  const sasl = lanes[SASL];
  await ctx.kafka.createTopics(Object.values(lanes).flatMap((l) => [...allTopics(l.topics), l.floorTopic]));
  const floorQueue = `bench-floor-${stamp}`;

  // What arrives: Kafka-floor records, the floor workflows' second activity, the engine's routed notifications.
  const floorDone = new Map<string, number>();
  await Promise.all(
    Object.values(lanes).flatMap((lane) => {
      const leadTopics = [...new Set(detections('x', 3).map((d) => `${lane.topics.notifyPrefix}${leadOf(ctx.policy, d).toLowerCase()}`))];
      return [
        lane.t.kafka.collect([lane.floorTopic], (r) => {
          if (!r.key) return;
          lane.kafkaIn.set(r.key, r.at);
          lane.waiting.get(r.key)?.();
        }),
        lane.t.kafka.collect(leadTopics, (r) => r.key && isLeadRouted(r.headers, r.value) && lane.routedAt.set(r.key, r.at)),
      ];
    }),
  );
  const floorWorker = await startFloorWorker({ connection: ctx.connection, taskQueue: floorQueue, onActivity: (id, step, at) => step === 'publish' && floorDone.set(id, at) });
  ctx.log('topics, readers and the floor worker ready; starting an engine per transport');
  await startLanes(Object.values(lanes), (lane) =>
    startEngine({
      connection: ctx.connection,
      client: ctx.client,
      brokers: lane.t.brokers,
      transport: lane.t.name,
      taskQueue: `bench-intake-${stamp}${lane.tag === 's' ? '' : '-plain'}`,
      topics: lane.topics,
      policy: ctx.policy,
      bridgeGroup: `bench-intake-${stamp}${lane.tag === 's' ? '' : '-plain'}`,
    }),
  ).catch(async (err: unknown) => {
    await floorWorker.stop();
    throw err;
  });

  const waitAll = (ids: string[], arrived: Map<string, number>, timeoutMs: number) => waitUntil(() => ids.filter((id) => arrived.has(id)).length, (c) => c === ids.length, timeoutMs);
  const sendAll = async (lane: Lane, topicOf: (d: ReferralDetectedV1) => string, items: ReferralDetectedV1[], sentAt: Map<string, number>) =>
    lane.producer.sendAll(
      items.map((d) => intakeRecord(topicOf(d), d, 'urn:agency:bench')),
      250,
      (first, count) => {
        const now = Date.now();
        for (let i = first; i < first + count; i++) sentAt.set(items[i]!.referralId, now);
      },
    );
  const ids = (items: ReferralDetectedV1[]) => items.map((d) => d.referralId);

  /** The engine: N detections, each on its detecting agency's own intake topic, as fast as the producer sends them. */
  const engineBurst = async (lane: Lane, items: ReferralDetectedV1[], timeoutMs: number) => {
    const sentAt = new Map<string, number>();
    await sendAll(lane, (d) => intakeTopicFor(lane.topics, d.sourceAgency), items, sentAt);
    await waitAll(ids(items), lane.routedAt, timeoutMs);
    return pass(sentAt, (id) => lane.routedAt.get(id));
  };
  const kafkaBurst = async (lane: Lane, items: ReferralDetectedV1[], timeoutMs: number) => {
    const sentAt = new Map<string, number>();
    await sendAll(lane, () => lane.floorTopic, items, sentAt);
    await waitAll(ids(items), lane.kafkaIn, timeoutMs);
    return pass(sentAt, (id) => lane.kafkaIn.get(id));
  };
  /** Kafka alone, one record at a time: produce (acks=-1), then wait until the reader has it. */
  const kafkaOneByOne = async (lane: Lane, items: ReferralDetectedV1[]) => {
    const sentAt = new Map<string, number>();
    for (const d of items) {
      const arrived = new Promise<void>((resolve) => lane.waiting.set(d.referralId, resolve));
      sentAt.set(d.referralId, Date.now());
      await lane.producer.send(intakeRecord(lane.floorTopic, d, 'urn:agency:bench'));
      await Promise.race([arrived, sleep(10_000)]);
      lane.waiting.delete(d.referralId);
    }
    return pass(sentAt, (id) => lane.kafkaIn.get(id));
  };
  const floorConcurrency = 32;
  const startFloor = async (id: string, sentAt: Map<string, number>) => {
    sentAt.set(id, Date.now());
    await ctx.floorClient.workflow.start('floorIntakeWorkflow', { workflowId: `floor-${id}`, taskQueue: floorQueue, args: [id] });
  };
  const floorBurst = async (items: ReferralDetectedV1[], timeoutMs: number) => {
    const sentAt = new Map<string, number>();
    await pool(ids(items), floorConcurrency, (id) => startFloor(id, sentAt));
    await waitAll(ids(items), floorDone, timeoutMs);
    return pass(sentAt, (id) => floorDone.get(id));
  };
  /** Detections at a fixed rate on the engine's intake topics, one send each. */
  const engineSteady = async (lane: Lane, rate: number, items: ReferralDetectedV1[]) => {
    const sentAt = new Map<string, number>();
    await Promise.all(
      await paced(rate, items.length, async (i) => {
        const d = items[i]!;
        sentAt.set(d.referralId, Date.now());
        await lane.producer.send(intakeRecord(intakeTopicFor(lane.topics, d.sourceAgency), d, 'urn:agency:bench'));
      }),
    );
    await waitAll(ids(items), lane.routedAt, 60_000);
    return pass(sentAt, (id) => lane.routedAt.get(id));
  };

  type Round = Measured & { info: RoundInfo };
  let n: number;
  let kafkaN: number;
  let one: number;
  let rate: number;
  let histories: Run[];
  const connect: Array<{ transport: TransportName; ms: number; info: RoundInfo }> = [];
  const oneByOne: Round[] = [];
  const kafkaRounds: Round[] = [];
  const bursts: Round[] = [];
  const steadyRounds: Round[] = [];
  let temporal: Round;
  let floorSteady: Round;
  let probe: Pass;
  const on = (rounds: Round[], name: TransportName) => rounds.filter((r) => r.info.transport === name);
  try {
    // Warm-up (connections, consumer groups, caches), then a probe of the engine's rate to size N.
    ctx.log('engines started; warming up');
    await Promise.all([
      ...Object.values(lanes).flatMap((l) => [engineBurst(l, detections(`W${stamp}${l.tag}`, 10), 60_000), kafkaBurst(l, detections(`KW${stamp}${l.tag}`, 10), 60_000)]),
      floorBurst(detections(`FW${stamp}`, 10), 60_000),
    ]);
    setup = Object.fromEntries(transportNames.map((t) => [t, connectionsBetween(setupFrom[t], connectionCounts(ctx.transports[t].port))])) as Record<TransportName, ConnectionCounts>;
    probe = await engineBurst(sasl, detections(`P${stamp}`, ctx.quick ? 20 : 40), 90_000);
    n = Math.min(maxN, Math.max(ctx.quick ? 30 : 50, Math.round(probe.perSec * burstSeconds)));
    const timeoutMs = Math.max(60_000, ((n / Math.max(0.5, probe.perSec)) * 3 + 30) * 1000);
    ctx.log(`probe: ${round(probe.perSec)} routed/s; N = ${n}${n < maxN ? ` (cut from ${maxN} to fit ~${burstSeconds} s)` : ''}`);

    // What a new client pays to get in (TCP, TLS handshake and SCRAM login; API versions, metadata), alternating.
    for (const name of alternation(ctx.quick ? 3 : 10)) {
      const { result: ms, info } = await inRound(lanes[name].t, () => lanes[name].t.kafka.connectOnce());
      connect.push({ transport: name, ms: round(ms, 1), info });
    }
    // Kafka alone: one record at a time (per-request cost), then bursts (throughput), alternating;
    // at least 500 (quick) or 2,000 records a burst, since a few dozen take a few milliseconds.
    one = ctx.quick ? 20 : 100;
    kafkaN = Math.max(n, ctx.quick ? 500 : 2000);
    for (const [i, name] of alternation(2).entries()) oneByOne.push(await measured(lanes[name].t, () => kafkaOneByOne(lanes[name], detections(`K1${stamp}${lanes[name].tag}${i}`, one))));
    for (const [i, name] of alternation(2).entries()) kafkaRounds.push(await measured(lanes[name].t, () => kafkaBurst(lanes[name], detections(`K${stamp}${lanes[name].tag}${i}`, kafkaN), timeoutMs)));
    const kafkaOf = (name: TransportName) => pooled(on(kafkaRounds, name));
    ctx.log(`Kafka floor: ${round(kafkaOf(SASL).perSec)} records/s SASL_SSL, ${round(kafkaOf(PLAIN).perSec)} PLAINTEXT`);

    // The engine's bursts, S P F P S: the Temporal floor in the middle, so all three sit at the same mean time.
    const order: Array<TransportName | 'floor'> = [SASL, PLAIN, 'floor', PLAIN, SASL];
    for (const [i, name] of order.entries()) {
      if (name === 'floor') {
        temporal = await measured(undefined, () => floorBurst(detections(`F${stamp}`, n), timeoutMs));
        ctx.log(`Temporal floor: ${round(temporal.perSec)} workflows/s, p99 ${temporal.latency.p99} ms`);
        continue;
      }
      const lane = lanes[name];
      const r = await measured(lane.t, () => engineBurst(lane, detections(`B${stamp}${lane.tag}${i}`, n), timeoutMs));
      bursts.push(r);
      ctx.log(`engine on ${name}: ${round(r.perSec)} referrals routed/s (${r.done}/${n}), p99 ${r.latency.p99} ms (load ${r.info.load.atStart} → ${r.info.load.atEnd})`);
    }

    // Half the SASL_SSL peak rate (the mean of its bursts), paced, on both transports (S P P S), then the Temporal floor.
    rate = Math.max(0.5, compare(bursts, (r) => r.perSec).sasl / 2);
    const count = Math.max(5, Math.round(rate * steadyRoundSeconds));
    let firstSteady: string | undefined;
    for (const [i, name] of alternation(2).entries()) {
      const lane = lanes[name];
      const items = detections(`S${stamp}${lane.tag}${i}`, count);
      if (name === SASL) firstSteady ??= items[0]!.referralId;
      steadyRounds.push(await measured(lane.t, () => engineSteady(lane, rate, items)));
    }
    const floorCount = Math.max(5, Math.round(rate * floorSteadySeconds));
    const floorItems = ids(detections(`FS${stamp}`, floorCount));
    floorSteady = await measured(undefined, async () => {
      const floorSent = new Map<string, number>();
      await Promise.all(await paced(rate, floorCount, (i) => startFloor(floorItems[i]!, floorSent)));
      await waitAll(floorItems, floorDone, 60_000);
      return pass(floorSent, (id) => floorDone.get(id));
    });
    const steadyOf = (name: TransportName) => pooled(on(steadyRounds, name));
    ctx.log(`at ${round(rate)}/s: engine p99 ${steadyOf(SASL).latency.p99} ms SASL_SSL, ${steadyOf(PLAIN).latency.p99} ms PLAINTEXT; Temporal floor p99 ${floorSteady.latency.p99} ms`);
    // What one intake writes to Temporal: a referral now waiting for acknowledgement, and a floor workflow.
    histories = [await fetchRun(ctx.client, workflowId(firstSteady!)), await fetchRun(ctx.floorClient, `floor-${floorItems[0]!}`)];
  } finally {
    await Promise.all([...Object.values(lanes).map((l) => l.engine?.stop()), floorWorker.stop()]);
  }

  /** One transport's figures over its rounds. */
  const side = (name: TransportName) => {
    const b = on(bursts, name);
    const st = on(steadyRounds, name);
    return {
      burst: { ...pooled(b), cpuMsPerItem: cpuPerItem(b) },
      burstCost: costOf(b, name),
      steady: { ...pooled(st), cpuMsPerItem: cpuPerItem(st) },
      steadyCost: costOf(st, name),
      kafka: { ...pooled(on(kafkaRounds, name)), cpuMsPerItem: cpuPerItem(on(kafkaRounds, name)) },
      oneByOne: { ...pooled(on(oneByOne, name)), cpuMsPerItem: cpuPerItem(on(oneByOne, name)) },
      setup: setup[name],
      connect: summarize(connect.filter((c) => c.transport === name).map((c) => c.ms)),
      connectionsDuringRounds: connectionsIn([...b, ...st]),
      connectionsOfConnectProbe: connectionsIn(connect.filter((c) => c.transport === name)),
    };
  };
  const S = side(SASL);
  const P = side(PLAIN);
  const intake = S.burst;
  const steady = S.steady;
  const allRounds = [...bursts, ...steadyRounds];
  const load = loadOver([...allRounds, temporal!]);
  const s = '1 intake';
  const tf = { name: 'Temporal floor', value: temporal!.perSec };
  const complete = (p: Pass) => p.done === p.of;
  // SASL_SSL against PLAINTEXT: means over each transport's rounds (see compare()).
  const tput = compare(bursts, (r) => r.perSec);
  const p99 = compare(steadyRounds, (r) => r.latency.p99);
  const p99Burst = compare(bursts, (r) => r.latency.p99);
  const kafkaTput = compare(kafkaRounds, (r) => r.perSec);
  const oneP50 = compare(oneByOne, (r) => r.latency.p50);
  const allComplete = (rs: Pass[]) => rs.every(complete);
  const perConn = (c: { opened: number; connectMs: number; authenticated: number; authMs: number }) =>
    `${c.opened ? round(c.connectMs / c.opened, 1) : '—'} ms to connect${c.authenticated ? `, ${round(c.authMs / c.authenticated, 1)} ms to log in` : ''}`;
  ctx.figures.push(
    figure({
      scenario: s,
      name: `referrals routed per second (${n} produced at once, mean of 2 bursts)`,
      value: tput.sasl,
      unit: '/s',
      baseline: tf,
      target: { text: '≥ 0.70× Temporal floor', met: complete(intake) ? tput.sasl >= 0.7 * temporal!.perSec : false },
      ...(!complete(intake) ? { note: `only ${intake.done} of ${intake.of} routed in time` } : {}),
    }),
    figure({ scenario: s, name: `referrals routed per second (Kafka floor: ${kafkaN!} records at once)`, value: tput.sasl, unit: '/s', baseline: { name: 'Kafka floor', value: kafkaTput.sasl } }),
    ...(['p50', 'p95', 'p99'] as const).map((p) =>
      figure({ scenario: s, name: `produce → routed notification ${p} (bursts of ${n})`, value: intake.latency[p], unit: 'ms', baseline: { name: 'Temporal floor', value: temporal!.latency[p] } }),
    ),
    figure({ scenario: s, name: `produce → routed notification p50 at ${round(rate!)}/s (half peak)`, value: steady.latency.p50, unit: 'ms', baseline: { name: 'Temporal floor', value: floorSteady!.latency.p50 } }),
    figure({
      scenario: s,
      name: `produce → routed notification p99 at ${round(rate!)}/s (half peak)`,
      value: steady.latency.p99,
      unit: 'ms',
      baseline: { name: 'Temporal floor', value: floorSteady!.latency.p99 },
      target: { text: '< 1000 ms', met: complete(steady) ? steady.latency.p99 < 1000 : false },
    }),
    // SASL_SSL against the development PLAINTEXT listener, rounds interleaved.
    figure({
      scenario: s,
      name: `throughput SASL_SSL / plaintext: routed/s, ${n} at once (mean of 2 bursts each)`,
      value: tput.sasl,
      unit: '/s',
      baseline: { name: 'PLAINTEXT', value: tput.plaintext },
      target: { text: '≥ 0.90× plaintext', met: allComplete(bursts) && tput.ratio !== null ? tput.ratio >= 0.9 : false },
      note: `rounds ${orderText([...bursts.slice(0, 2), temporal!, ...bursts.slice(2)])}; ${pairsText(tput)}; CPU per referral SASL_SSL vs PLAINTEXT: broker ${S.burst.cpuMsPerItem.kafka} vs ${P.burst.cpuMsPerItem.kafka} ms, this process ${S.burst.cpuMsPerItem.bench} vs ${P.burst.cpuMsPerItem.bench} ms, Temporal ${S.burst.cpuMsPerItem.temporal} vs ${P.burst.cpuMsPerItem.temporal} ms; ${costNote(S.burstCost, P.burstCost, 'referral')}`,
    }),
    figure({
      scenario: s,
      name: `p99 SASL_SSL / plaintext: produce → routed at ${round(rate!)}/s (mean of 2 × ${steadyRoundSeconds} s each)`,
      value: p99.sasl,
      unit: 'ms',
      baseline: { name: 'PLAINTEXT', value: p99.plaintext },
      target: { text: '≤ 1.2× plaintext', met: allComplete(steadyRounds) && p99.ratio !== null ? p99.ratio <= 1.2 : false },
      note: `rounds ${orderText(steadyRounds)}; ${pairsText(p99)}; pooled p99 ${S.steady.latency.p99} vs ${P.steady.latency.p99} ms, p50 ${S.steady.latency.p50} vs ${P.steady.latency.p50} ms, ${S.steady.latency.n} vs ${P.steady.latency.n} samples; ${costNote(S.steadyCost, P.steadyCost, 'referral')}`,
    }),
    figure({
      scenario: s,
      name: `p99 SASL_SSL / plaintext: produce → routed, bursts of ${n} (mean of 2 each)`,
      value: p99Burst.sasl,
      unit: 'ms',
      baseline: { name: 'PLAINTEXT', value: p99Burst.plaintext },
      note: pairsText(p99Burst),
    }),
    figure({
      scenario: s,
      name: `Kafka floor SASL_SSL / plaintext: records/s, ${kafkaN!} at once (mean of 2 bursts each)`,
      value: kafkaTput.sasl,
      unit: '/s',
      baseline: { name: 'PLAINTEXT', value: kafkaTput.plaintext },
      note: `${pairsText(kafkaTput)}; CPU per record: broker ${S.kafka.cpuMsPerItem.kafka} vs ${P.kafka.cpuMsPerItem.kafka} ms, this process ${S.kafka.cpuMsPerItem.bench} vs ${P.kafka.cpuMsPerItem.bench} ms`,
    }),
    figure({
      scenario: s,
      name: `Kafka floor SASL_SSL / plaintext: one record at a time, produce → read p50 (mean of 2 × ${one!} each)`,
      value: oneP50.sasl,
      unit: 'ms',
      baseline: { name: 'PLAINTEXT', value: oneP50.plaintext },
      note: `pooled p99 ${S.oneByOne.latency.p99} vs ${P.oneByOne.latency.p99} ms (${S.oneByOne.latency.n} each); CPU per record: broker ${S.oneByOne.cpuMsPerItem.kafka} vs ${P.oneByOne.cpuMsPerItem.kafka} ms, this process ${S.oneByOne.cpuMsPerItem.bench} vs ${P.oneByOne.cpuMsPerItem.bench} ms`,
    }),
    figure({
      scenario: s,
      name: 'a new client connecting (admin connect), median',
      value: S.connect.p50,
      unit: 'ms',
      baseline: { name: 'PLAINTEXT', value: P.connect.p50 },
      note: `per socket: SASL_SSL ${perConn(S.connectionsOfConnectProbe)} (TCP + TLS handshake; SCRAM), PLAINTEXT ${perConn(P.connectionsOfConnectProbe)}; engine and bench clients' start through the warm-up: SASL_SSL ${S.setup.opened} sockets, ${S.setup.authenticated} logins (${round(S.setup.connectMs + S.setup.authMs)} ms summed), PLAINTEXT ${P.setup.opened} sockets (${round(P.setup.connectMs)} ms summed); sockets opened during the measured rounds: SASL_SSL ${S.connectionsDuringRounds.opened}, PLAINTEXT ${P.connectionsDuringRounds.opened}`,
    }),
    figure({
      scenario: s,
      name: 'load average (1 min) during the transport rounds, mean',
      value: load.mean,
      unit: '',
      note: `${load.min}–${load.max} at the rounds' starts and ends, on ${cpus().length} cores`,
    }),
  );
  const [referralRun, floorRun] = histories as [Run, Run];
  ctx.figures.push(
    figure({
      scenario: s,
      name: 'history events written per intake (routed, waiting for acknowledgement)',
      value: referralRun.events,
      unit: 'events',
      baseline: { name: 'Temporal floor', value: floorRun.events },
      note: `${(referralRun.protoBytes / 1024).toFixed(1)} KiB vs ${(floorRun.protoBytes / 1024).toFixed(1)} KiB; Temporal server CPU ${intake.cpuMsPerItem.temporal} ms per referral vs ${temporal!.cpuMsPerItem?.temporal} ms per floor workflow`,
    }),
  );
  const lean = (r: Round) => withoutLatencies(r);
  const sideJson = (x: typeof S) => ({
    burst: withoutLatencies(x.burst),
    burstCost: x.burstCost,
    steady: withoutLatencies(x.steady),
    steadyCost: x.steadyCost,
    kafka: withoutLatencies(x.kafka),
    oneByOne: withoutLatencies(x.oneByOne),
    connect: x.connect,
    connectionsDuringRounds: x.connectionsDuringRounds,
    connectionsOfConnectProbe: x.connectionsOfConnectProbe,
    setup: x.setup,
  });
  ctx.details['intake'] = {
    n,
    maxN,
    kafkaN: kafkaN!,
    burstSeconds,
    steadyRoundSeconds,
    floorSteadySeconds,
    rate,
    floorConcurrency,
    bridgePartitions: 3,
    bundleMs: { engine: Math.round((await engineBundle()).ms), floor: Math.round((await floorBundle()).ms) },
    probe: withoutLatencies(probe!),
    // The figures of the SASL_SSL engine against the floors, as before the transports were compared.
    kafka: withoutLatencies(S.kafka),
    temporal: lean(temporal!),
    engine: withoutLatencies(intake),
    steady: withoutLatencies(steady),
    floorSteady: lean(floorSteady!),
    transports: {
      compared: { throughput: tput, p99AtHalfPeak: p99, p99Burst, kafkaFloorThroughput: kafkaTput, kafkaOneByOneP50: oneP50 },
      load,
      SASL_SSL: sideJson(S),
      PLAINTEXT: sideJson(P),
      rounds: {
        connect: connect.map((c) => ({ transport: c.transport, ms: c.ms, connections: c.info.connections, load: c.info.load })),
        oneByOne: oneByOne.map(lean),
        kafka: kafkaRounds.map(lean),
        bursts: bursts.map(lean),
        steady: steadyRounds.map(lean),
      },
    },
    histories: { referral: withoutHistory(referralRun), floor: withoutHistory(floorRun) },
  };
}
