import type { Policy } from '../schemas/policy.js';
import { intakeRecord } from '../scripts/intake-event.js';
import { acknowledgementRecord, actor, leadOf, plainDetections } from './fixtures.js';
import { actionsTopicFor, benchTopics, intakeTopicFor, type BenchProducer } from './kafka.js';
import type { ProfileName, ProfileTarget } from './profiles.js';
import { figure, type Figure } from './report.js';
import { processTreesCpuSeconds } from './stack.js';
import { paced, round, sleep, summarize, waitUntil, type Summary } from './stats.js';
import { load1 } from './transports.js';

/**
 * The bench on the cluster profile: scenarios 1 (intake) and 2 (an agency's action round trip)
 * measured on the cluster profile and on the single-node dev stack in the same run, with the
 * engine deployed the same way on both (two engine processes, ENGINE_ROLES=worker,bridge, the
 * shipped topics, each agency logged in as itself), in rounds D C C D so that a drift of the
 * machine's load weighs on both alike; then intake on the cluster with one engine replica and
 * with two, in rounds 2 1 1 2.
 *
 * One round on a profile: N detections produced at once on the detecting agency's intake topic
 * (routed/s from the first send to the last routed notification, and each one's produce → lead's
 * `referral.routed.v1` latency); then the lead acknowledges S of them at a steady rate (each
 * acknowledgement's produce → `referral.action.accepted.v1` latency) and the other N − S at once
 * (answers/s).
 */
export interface ClusterBenchOptions {
  quick: boolean;
  policy: Policy;
  dev: ProfileTarget;
  cluster: ProfileTarget;
  log(message: string): void;
}

/** The shipped topic names (config/env.ts defaults). */
const topics = benchTopics('referrals');

interface Round {
  profile: ProfileName;
  replicas: number;
  load: { atStart: number; atEnd: number };
  intake: {
    perSec: number;
    done: number;
    of: number;
    latency: Summary;
    /** CPU of each part over the burst, per routed referral; `net`: less what the part uses idle over as long (its background work). */
    cpuMsPerReferral: Record<string, number>;
    netCpuMsPerReferral: Record<string, number>;
  };
  actions?: { steadyRate: number; steady: Summary & { done: number; of: number }; burst: { perSec: number; done: number; of: number } };
}

/** What one profile's bench clients hold: the source agency's producer, the lead's producer and what its topic has carried. */
interface Lane {
  target: ProfileTarget;
  source: BenchProducer;
  lead: BenchProducer;
  routedAt: Map<string, number>;
  /** actionId → when its answer was read (−1: refused). */
  answeredAt: Map<string, number>;
}

export async function runClusterBench(o: ClusterBenchOptions): Promise<{ figures: Figure[]; details: Record<string, unknown> }> {
  const n = o.quick ? 60 : 300;
  const steadyN = o.quick ? 20 : 100;
  const steadyRate = 10;
  const timeoutMs = o.quick ? 120_000 : 300_000;
  const stamp = Date.now().toString(36);
  const sample = plainDetections('probe', 1)[0]!;
  const sourceAgency = sample.sourceAgency;
  const leadAgency = leadOf(o.policy, sample);
  const leadActor = actor(leadAgency);

  const lanes = new Map<ProfileName, Lane>();
  for (const target of [o.dev, o.cluster]) {
    const lane: Lane = {
      target,
      source: await target.kafka(sourceAgency.toLowerCase()).producer(),
      lead: await target.kafka(leadAgency.toLowerCase()).producer(),
      routedAt: new Map(),
      answeredAt: new Map(),
    };
    // The lead's own topic carries both its routed notifications and the answers to its actions.
    await target.kafka(leadAgency.toLowerCase()).collect([`${topics.notifyPrefix}${leadAgency.toLowerCase()}`], (r) => {
      const type = r.headers['ce_type'];
      if (type === 'referral.routed.v1' && r.key) lane.routedAt.set(r.key, r.at);
      else if (type?.startsWith('referral.action.') && r.value) {
        const answer = JSON.parse(r.value.toString()) as { actionId: string; outcome: string };
        lane.answeredAt.set(answer.actionId, answer.outcome === 'ACCEPTED' ? r.at : -1);
      }
    });
    lanes.set(target.name, lane);
  }
  o.log(`readers joined on both profiles; detections by ${sourceAgency} routed to ${leadAgency}, ${n} a round (${steadyN} acknowledged at ${steadyRate}/s, ${n - steadyN} at once)`);

  let seq = 0;
  /** N detections at once; resolves with the routed ones once all are routed or the time is up. */
  const intakeBurst = async (lane: Lane, count: number) => {
    const items = plainDetections(`CB${stamp}-${seq++}`, count);
    const sentAt = new Map<string, number>();
    await lane.source.sendAll(
      items.map((d) => intakeRecord(intakeTopicFor(topics, sourceAgency), d, `urn:agency:${sourceAgency.toLowerCase()}`)),
      50,
      (first, c) => {
        const now = Date.now();
        for (let i = first; i < first + c; i++) sentAt.set(items[i]!.referralId, now);
      },
    );
    const ids = [...sentAt.keys()];
    await waitUntil(() => ids.filter((id) => lane.routedAt.has(id)).length, (c) => c === ids.length, timeoutMs, 100);
    const routed = ids.filter((id) => lane.routedAt.has(id));
    const first = Math.min(...sentAt.values());
    const last = Math.max(...routed.map((id) => lane.routedAt.get(id)!));
    return {
      routed,
      perSec: routed.length > 0 ? (routed.length * 1000) / Math.max(1, last - first) : 0,
      done: routed.length,
      of: ids.length,
      latencies: routed.map((id) => lane.routedAt.get(id)! - sentAt.get(id)!),
    };
  };
  const acknowledgement = (referralId: string) => acknowledgementRecord(actionsTopicFor(topics, leadAgency), leadAgency, referralId, leadActor);
  const answers = async (lane: Lane, sentAt: Map<string, number>) => {
    const ids = [...sentAt.keys()];
    await waitUntil(() => ids.filter((id) => lane.answeredAt.has(id)).length, (c) => c === ids.length, timeoutMs, 100);
    return ids.filter((id) => (lane.answeredAt.get(id) ?? -1) > 0);
  };

  /** CPU seconds so far of each part of a deployment (every process of the part, children included). */
  const cpuOf = (t: ProfileTarget) => processTreesCpuSeconds(t.parts());
  const rounds: Round[] = [];
  /** CPU ms per second each part uses with nothing to do (3 brokers' replica fetchers, Temporal's timers and queues, GC). */
  const idle = new Map<ProfileName, Record<string, number>>();
  const idleSeconds = o.quick ? 5 : 15;
  for (const lane of lanes.values()) {
    const c0 = cpuOf(lane.target);
    await sleep(idleSeconds * 1000);
    const c1 = cpuOf(lane.target);
    idle.set(lane.target.name, Object.fromEntries(Object.keys(c1).map((part) => [part, round(((c1[part]! - (c0[part] ?? 0)) * 1000) / idleSeconds, 1)])));
  }
  o.log(`idle CPU ms/s: ${[...idle].map(([p, parts]) => `${p} ${Object.entries(parts).map(([k, v]) => `${k} ${v}`).join(', ')}`).join('; ')}`);
  /** One round of intake (and, when asked, actions) on a profile with its replicas as they are. */
  const roundOn = async (lane: Lane, withActions: boolean) => {
    const atStart = load1();
    const cpu0 = cpuOf(lane.target);
    const t0 = performance.now();
    const intake = await intakeBurst(lane, n);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = cpuOf(lane.target);
    const used = (part: string) => (cpu1[part]! - (cpu0[part] ?? 0)) * 1000;
    const perReferral = (ms: number) => round(ms / Math.max(1, intake.done), 1);
    const cpuMsPerReferral = Object.fromEntries(Object.keys(cpu1).map((part) => [part, perReferral(used(part))]));
    const idleOf = idle.get(lane.target.name) ?? {};
    const netCpuMsPerReferral = Object.fromEntries(Object.keys(cpu1).map((part) => [part, perReferral(Math.max(0, used(part) - (idleOf[part] ?? 0) * seconds))]));
    const r: Round = {
      profile: lane.target.name,
      replicas: lane.target.replicas,
      load: { atStart, atEnd: atStart },
      intake: { perSec: round(intake.perSec, 2), done: intake.done, of: intake.of, latency: summarize(intake.latencies), cpuMsPerReferral, netCpuMsPerReferral },
    };
    if (withActions) {
      const steadyIds = intake.routed.slice(0, steadyN);
      const steadySent = new Map<string, number>();
      await Promise.all(
        await paced(steadyRate, steadyIds.length, async (i) => {
          steadySent.set(`ack-${steadyIds[i]!}`, Date.now());
          await lane.lead.send(acknowledgement(steadyIds[i]!));
        }),
      );
      const steadyOk = await answers(lane, steadySent);
      const burstIds = intake.routed.slice(steadyN);
      const burstSent = new Map<string, number>();
      await lane.lead.sendAll(burstIds.map(acknowledgement), 50, (first, c) => {
        const now = Date.now();
        for (let i = first; i < first + c; i++) burstSent.set(`ack-${burstIds[i]!}`, now);
      });
      const burstOk = await answers(lane, burstSent);
      const firstSent = Math.min(...burstSent.values());
      const lastAnswer = Math.max(...burstOk.map((id) => lane.answeredAt.get(id)!));
      r.actions = {
        steadyRate,
        steady: { ...summarize(steadyOk.map((id) => lane.answeredAt.get(id)! - steadySent.get(id)!)), done: steadyOk.length, of: steadySent.size },
        burst: { perSec: burstOk.length > 0 ? round((burstOk.length * 1000) / Math.max(1, lastAnswer - firstSent), 2) : 0, done: burstOk.length, of: burstSent.size },
      };
    }
    r.load.atEnd = load1();
    rounds.push(r);
    const a = r.actions;
    o.log(
      `${r.profile} (${r.replicas} replica${r.replicas === 1 ? '' : 's'}): intake ${r.intake.perSec} routed/s (${r.intake.done}/${r.intake.of}), p99 ${r.intake.latency.p99} ms` +
        (a ? `; actions at ${a.steady.done}/${a.steady.of} p50 ${a.steady.p50} ms p99 ${a.steady.p99} ms, burst ${a.burst.perSec} answers/s` : '') +
        ` (load ${r.load.atStart} → ${r.load.atEnd}; CPU ms per referral ${Object.entries(cpuMsPerReferral).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    );
  };

  // Warm-up on each: the engines' first workflow tasks, the readers' first fetches.
  for (const lane of lanes.values()) await intakeBurst(lane, o.quick ? 20 : 50);
  o.log('warm-up done; comparison rounds D C C D');
  const order: ProfileName[] = o.quick ? ['dev', 'cluster', 'cluster', 'dev'] : ['dev', 'cluster', 'cluster', 'dev', 'dev', 'cluster', 'cluster', 'dev'];
  for (const name of order) await roundOn(lanes.get(name)!, true);

  o.log('replicas on the cluster: rounds 2 1 1 2');
  const cluster = lanes.get('cluster')!;
  for (const replicas of [2, 1, 1, 2] as const) {
    await cluster.target.setReplicas(replicas);
    // A warm-up after a change: the consumer group has rebalanced and the worker polls.
    await intakeBurst(cluster, 5);
    await roundOn(cluster, false);
  }

  return { figures: clusterFigures(rounds, n, steadyN, steadyRate), details: { n, steadyN, steadyRate, sourceAgency, leadAgency, order, idleCpuMsPerSecond: Object.fromEntries(idle), rounds } };
}

const mean = (values: number[]) => (values.length > 0 ? values.reduce((s, v) => s + v, 0) / values.length : Number.NaN);

function clusterFigures(rounds: Round[], n: number, steadyN: number, steadyRate: number): Figure[] {
  const compared = (p: ProfileName) => rounds.filter((r) => r.actions && r.profile === p);
  const loads = (rs: Round[]) => rs.map((r) => `${r.load.atStart}→${r.load.atEnd}`).join(', ');
  const both = (name: string, unit: string, pick: (r: Round) => number) => {
    const c = compared('cluster');
    const d = compared('dev');
    return figure({
      scenario: 'C cluster profile',
      name,
      value: round(mean(c.map(pick)), 1),
      unit,
      baseline: { name: 'dev server (single node)', value: round(mean(d.map(pick)), 1) },
      note: `mean of ${c.length} rounds each; cluster ${c.map((r) => round(pick(r), 1)).join(', ')}; dev ${d.map((r) => round(pick(r), 1)).join(', ')}; load cluster ${loads(c)}, dev ${loads(d)}`,
    });
  };
  const cpu = (p: ProfileName, which: 'cpuMsPerReferral' | 'netCpuMsPerReferral' = 'cpuMsPerReferral') => {
    const rs = compared(p);
    const parts = Object.keys(rs[0]?.intake[which] ?? {});
    const byPart = Object.fromEntries(parts.map((part) => [part, round(mean(rs.map((r) => r.intake[which][part] ?? 0)), 1)]));
    return { total: round(Object.values(byPart).reduce((a, b) => a + b, 0), 1), text: parts.map((part) => `${part} ${byPart[part]}`).join(', ') };
  };
  const scaling = (k: number) => rounds.filter((r) => !r.actions && r.replicas === k);
  const two = scaling(2);
  const one = scaling(1);
  return [
    both(`intake, ${n} at once: routed/s`, '/s', (r) => r.intake.perSec),
    both(`intake, ${n} at once: produce → routed p50`, 'ms', (r) => r.intake.latency.p50),
    both(`intake, ${n} at once: produce → routed p99`, 'ms', (r) => r.intake.latency.p99),
    figure({
      scenario: 'C cluster profile',
      name: `intake, ${n} at once: CPU per routed referral (all parts)`,
      value: cpu('cluster').total,
      unit: 'ms',
      baseline: { name: 'dev server (single node)', value: cpu('dev').total },
      note: `mean of the rounds, ms by part: cluster ${cpu('cluster').text}; dev ${cpu('dev').text}`,
    }),
    figure({
      scenario: 'C cluster profile',
      name: `intake, ${n} at once: CPU per routed referral less idle CPU (all parts)`,
      value: cpu('cluster', 'netCpuMsPerReferral').total,
      unit: 'ms',
      baseline: { name: 'dev server (single node)', value: cpu('dev', 'netCpuMsPerReferral').total },
      note: `each part's idle CPU over the burst's time subtracted; ms by part: cluster ${cpu('cluster', 'netCpuMsPerReferral').text}; dev ${cpu('dev', 'netCpuMsPerReferral').text}`,
    }),
    both(`action at ${steadyRate}/s (${steadyN}): produce → answer p50`, 'ms', (r) => r.actions!.steady.p50),
    both(`action at ${steadyRate}/s (${steadyN}): produce → answer p99`, 'ms', (r) => r.actions!.steady.p99),
    both(`actions, ${n - steadyN} at once: answers/s`, '/s', (r) => r.actions!.burst.perSec),
    figure({
      scenario: 'C cluster profile',
      name: `intake on the cluster, ${n} at once, 2 engine replicas vs 1: routed/s`,
      value: round(mean(two.map((r) => r.intake.perSec)), 1),
      unit: '/s',
      baseline: { name: '1 replica', value: round(mean(one.map((r) => r.intake.perSec)), 1) },
      note: `rounds 2 1 1 2: ${[two[0], one[0], one[1], two[1]].map((r) => r && `${r.replicas}: ${r.intake.perSec}/s p99 ${r.intake.latency.p99} ms, CPU ms per referral ${Object.entries(r.intake.cpuMsPerReferral).map(([k, v]) => `${k} ${v}`).join(' ')} (load ${r.load.atStart}→${r.load.atEnd})`).join('; ')}`,
    }),
  ];
}
