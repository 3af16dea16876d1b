import { intakeRecord } from '../scripts/intake-event.js';
import type { ReferralDetectedV1 } from '../schemas/intake.js';
import type { BenchContext, Scenario } from './context.js';
import { engineBundle, floorBundle, startEngine, startFloorWorker } from './engine.js';
import { detections, isLeadRouted, leadOf, workflowId } from './fixtures.js';
import { fetchRun, withoutHistory, type Run } from './history.js';
import { allTopics, benchTopics, intakeTopicFor } from './kafka.js';
import { figure } from './report.js';
import { cpuNow } from './stack.js';
import { paced, pool, round, summarize, waitUntil, type Summary } from './stats.js';

/**
 * 1. Intake throughput and latency: N detections produced to the intake topic as fast as possible,
 * until the lead's routed notification is read back from Kafka; then latency at half that rate.
 * Baselines, same N and same rate: the Temporal floor (the client starting workflows of two no-op
 * activities, as many as the intake path runs) and the Kafka floor (records of the same size,
 * produced and consumed). The engine (intake bridge + worker) and the floor's worker run in this
 * process, as in the integration tests.
 */
export const intakeScenario: Scenario = { id: 'intake', number: 1, title: 'intake throughput and latency', run };

interface Pass {
  perSec: number;
  latency: Summary;
  done: number;
  of: number;
  /** CPU milliseconds per item: Temporal server, Kafka broker, this process (bridge, worker, producer, reader). */
  cpuMsPerItem?: Record<keyof ReturnType<typeof cpuNow>, number>;
}

/** Runs a pass and charges the CPU the stack and this process used meanwhile to its items. */
async function measured(work: () => Promise<Pass>): Promise<Pass> {
  const before = cpuNow();
  const p = await work();
  const after = cpuNow();
  const per = (k: keyof typeof before) => round(((after[k] - before[k]) * 1000) / Math.max(1, p.done), 2);
  return { ...p, cpuMsPerItem: { temporal: per('temporal'), kafka: per('kafka'), bench: per('bench') } };
}

/** Throughput from the first send to the last arrival, and each item's send → arrival latency. */
function pass(sentAt: Map<string, number>, arrivedAt: (id: string) => number | undefined): Pass {
  const ids = [...sentAt.keys()];
  const arrivals = ids.map((id) => [id, arrivedAt(id)] as const).filter((a): a is readonly [string, number] => a[1] !== undefined);
  const first = Math.min(...sentAt.values());
  const last = Math.max(...arrivals.map(([, at]) => at));
  return {
    perSec: arrivals.length > 0 ? (arrivals.length * 1000) / Math.max(1, last - first) : 0,
    latency: summarize(arrivals.map(([id, at]) => at - sentAt.get(id)!)),
    done: arrivals.length,
    of: ids.length,
  };
}

async function run(ctx: BenchContext): Promise<void> {
  const maxN = ctx.quick ? 200 : 2000;
  // N is cut to what the engine routes in about this long at the rate its probe showed, so a slow,
  // shared machine still finishes in time (the figures say which N was used).
  const burstSeconds = ctx.quick ? 10 : 60;
  const steadySeconds = ctx.quick ? 5 : 20;
  const stamp = Date.now().toString(36);
  const topics = benchTopics(`bench-intake-${stamp}`);
  const floorTopic = `bench-intake-${stamp}.kafka-floor`;
  await ctx.kafka.createTopics([...allTopics(topics), floorTopic]);
  const producer = await ctx.kafka.producer();
  const floorQueue = `bench-floor-${stamp}`;

  // What arrives: Kafka-floor records, the floor workflows' second activity, the engine's routed notifications.
  const kafkaIn = new Map<string, number>();
  const floorDone = new Map<string, number>();
  const routedAt = new Map<string, number>();
  const leadTopics = [...new Set(detections('x', 3).map((d) => `${topics.notifyPrefix}${leadOf(ctx.policy, d).toLowerCase()}`))];
  await ctx.kafka.collect([floorTopic], (r) => r.key && kafkaIn.set(r.key, r.at));
  await ctx.kafka.collect(leadTopics, (r) => r.key && isLeadRouted(r.headers, r.value) && routedAt.set(r.key, r.at));
  const floorWorker = await startFloorWorker({ connection: ctx.connection, taskQueue: floorQueue, onActivity: (id, step, at) => step === 'publish' && floorDone.set(id, at) });
  const engine = await startEngine({
    connection: ctx.connection,
    client: ctx.client,
    brokers: ctx.brokers,
    taskQueue: `bench-intake-${stamp}`,
    topics,
    policy: ctx.policy,
    bridgeGroup: `bench-intake-${stamp}`,
  });

  const waitAll = (ids: string[], arrived: Map<string, number>, timeoutMs: number) => waitUntil(() => ids.filter((id) => arrived.has(id)).length, (c) => c === ids.length, timeoutMs);
  /** Each detection on its detecting agency's own intake topic (the bridge takes the agency from the topic). */
  const ownTopic = (d: ReferralDetectedV1) => intakeTopicFor(topics, d.sourceAgency);
  const sendAll = async (topicOf: (d: ReferralDetectedV1) => string, items: ReferralDetectedV1[], sentAt: Map<string, number>) =>
    producer.sendAll(
      items.map((d) => intakeRecord(topicOf(d), d, 'urn:agency:bench')),
      250,
      (first, count) => {
        const now = Date.now();
        for (let i = first; i < first + count; i++) sentAt.set(items[i]!.referralId, now);
      },
    );
  const ids = (items: ReferralDetectedV1[]) => items.map((d) => d.referralId);

  /** The engine: N detections on the intake topic, as fast as the producer sends them. */
  const engineBurst = async (items: ReferralDetectedV1[], timeoutMs: number) => {
    const sentAt = new Map<string, number>();
    await sendAll(ownTopic, items, sentAt);
    await waitAll(ids(items), routedAt, timeoutMs);
    return pass(sentAt, (id) => routedAt.get(id));
  };
  const kafkaBurst = async (items: ReferralDetectedV1[], timeoutMs: number) => {
    const sentAt = new Map<string, number>();
    await sendAll(() => floorTopic, items, sentAt);
    await waitAll(ids(items), kafkaIn, timeoutMs);
    return pass(sentAt, (id) => kafkaIn.get(id));
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

  let n: number;
  let rate: number;
  let histories: Run[];
  const result: Record<'kafka' | 'temporal' | 'engine' | 'steady' | 'floorSteady', Pass> = {} as never;
  try {
    // Warm-up (connections, consumer group, caches), then a probe of the engine's rate to size N.
    await Promise.all([engineBurst(detections(`W${stamp}`, 10), 60_000), floorBurst(detections(`FW${stamp}`, 10), 60_000), kafkaBurst(detections(`KW${stamp}`, 10), 60_000)]);
    const probe = await engineBurst(detections(`P${stamp}`, ctx.quick ? 20 : 40), 90_000);
    n = Math.min(maxN, Math.max(50, Math.round(probe.perSec * burstSeconds)));
    const timeoutMs = Math.max(60_000, ((n / Math.max(0.5, probe.perSec)) * 3 + 30) * 1000);
    ctx.log(`probe: ${round(probe.perSec)} routed/s; N = ${n}${n < maxN ? ` (cut from ${maxN} to fit ~${burstSeconds} s)` : ''}`);

    result.kafka = await measured(() => kafkaBurst(detections(`K${stamp}`, n), timeoutMs));
    ctx.log(`Kafka floor: ${round(result.kafka.perSec)} records/s, p99 ${result.kafka.latency.p99} ms`);
    result.temporal = await measured(() => floorBurst(detections(`F${stamp}`, n), timeoutMs));
    ctx.log(`Temporal floor: ${round(result.temporal.perSec)} workflows/s, p99 ${result.temporal.latency.p99} ms`);
    result.engine = await measured(() => engineBurst(detections(`B${stamp}`, n), timeoutMs));
    ctx.log(`engine: ${round(result.engine.perSec)} referrals routed/s (${result.engine.done}/${n}), p99 ${result.engine.latency.p99} ms`);

    // Half the peak rate, paced, engine then Temporal floor.
    rate = Math.max(0.5, result.engine.perSec / 2);
    const count = Math.max(5, Math.round(rate * steadySeconds));
    const steadyItems = detections(`S${stamp}`, count);
    const sentAt = new Map<string, number>();
    await Promise.all(
      await paced(rate, count, async (i) => {
        const d = steadyItems[i]!;
        sentAt.set(d.referralId, Date.now());
        await producer.send(intakeRecord(ownTopic(d), d, 'urn:agency:bench'));
      }),
    );
    await waitAll(ids(steadyItems), routedAt, 60_000);
    result.steady = pass(sentAt, (id) => routedAt.get(id));
    const floorItems = ids(detections(`FS${stamp}`, count));
    const floorSent = new Map<string, number>();
    await Promise.all(await paced(rate, count, (i) => startFloor(floorItems[i]!, floorSent)));
    await waitAll(floorItems, floorDone, 60_000);
    result.floorSteady = pass(floorSent, (id) => floorDone.get(id));
    ctx.log(`at ${round(rate)}/s for ${steadySeconds} s: engine p99 ${result.steady.latency.p99} ms, Temporal floor p99 ${result.floorSteady.latency.p99} ms`);
    // What one intake writes to Temporal: a referral now waiting for acknowledgement, and a floor workflow.
    histories = [await fetchRun(ctx.client, workflowId(steadyItems[0]!.referralId)), await fetchRun(ctx.floorClient, `floor-${floorItems[0]!}`)];
  } finally {
    await engine.stop();
    await floorWorker.stop();
  }

  const { kafka, temporal, engine: intake, steady, floorSteady } = result;
  const s = '1 intake';
  const tf = { name: 'Temporal floor', value: temporal.perSec };
  ctx.figures.push(
    figure({
      scenario: s,
      name: `referrals routed per second (${n} produced at once)`,
      value: intake.perSec,
      unit: '/s',
      baseline: tf,
      target: { text: '≥ 0.70× Temporal floor', met: intake.done === n ? intake.perSec >= 0.7 * temporal.perSec : false },
      ...(intake.done < n ? { note: `only ${intake.done} of ${n} routed in time` } : {}),
    }),
    figure({ scenario: s, name: 'referrals routed per second', value: intake.perSec, unit: '/s', baseline: { name: 'Kafka floor', value: kafka.perSec } }),
    ...(['p50', 'p95', 'p99'] as const).map((p) =>
      figure({ scenario: s, name: `produce → routed notification ${p} (burst of ${n})`, value: intake.latency[p], unit: 'ms', baseline: { name: 'Temporal floor', value: temporal.latency[p] } }),
    ),
    figure({ scenario: s, name: `produce → routed notification p50 at ${round(rate)}/s (half peak)`, value: steady.latency.p50, unit: 'ms', baseline: { name: 'Temporal floor', value: floorSteady.latency.p50 } }),
    figure({
      scenario: s,
      name: `produce → routed notification p99 at ${round(rate)}/s (half peak)`,
      value: steady.latency.p99,
      unit: 'ms',
      baseline: { name: 'Temporal floor', value: floorSteady.latency.p99 },
      target: { text: '< 1000 ms', met: steady.done === steady.of ? steady.latency.p99 < 1000 : false },
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
      note: `${(referralRun.protoBytes / 1024).toFixed(1)} KiB vs ${(floorRun.protoBytes / 1024).toFixed(1)} KiB; Temporal server CPU ${intake.cpuMsPerItem?.temporal} ms per referral vs ${temporal.cpuMsPerItem?.temporal} ms per floor workflow`,
    }),
  );
  ctx.details['intake'] = {
    n,
    maxN,
    steadySeconds,
    rate,
    floorConcurrency,
    bridgePartitions: 3,
    bundleMs: { engine: Math.round((await engineBundle()).ms), floor: Math.round((await floorBundle()).ms) },
    ...result,
    histories: { referral: withoutHistory(referralRun), floor: withoutHistory(floorRun) },
  };
}
