import { encodeCloudEvent } from '../messaging/cloudevents.js';
import type { ReferralDetectedV1 } from '../schemas/intake.js';
import type { BenchContext, Scenario } from './context.js';
import { startEngine, startFloorWorker } from './engine.js';
import { pokeUpdate } from './floor-workflows.js';
import { actor, leadOf, plainDetections, startReferral } from './fixtures.js';
import { actionsTopicFor, allTopics, benchTopics, type BenchProducer } from './kafka.js';
import { figure } from './report.js';
import { paced, pool, round, sleep, summarize, waitUntil, type Summary } from './stats.js';

/**
 * 2. Agency action round trip: acknowledgements sent as `referral.action.acknowledge.v1` on the
 * lead agency's own actions topic at a steady rate, each to its own open referral, until the acting agency reads
 * `referral.action.accepted.v1` on its topic (actions bridge → Temporal update → answer).
 * Baseline: the Temporal client's executeUpdate of a no-op update on minimal open workflows at
 * the same rate. Full run: then a search for the highest rate held 60 s with p99 under 1 s.
 */
export const actionsScenario: Scenario = { id: 'actions', number: 2, title: 'agency action round trip', run };

interface Step {
  rate: number;
  seconds: number;
  latency: Summary;
  answered: number;
  sent: number;
}

async function run(ctx: BenchContext): Promise<void> {
  const stamp = Date.now().toString(36);
  const topics = benchTopics(`bench-actions-${stamp}`);
  await ctx.kafka.createTopics(allTopics(topics));
  const taskQueue = `bench-actions-${stamp}`;
  const main = ctx.quick ? { rate: 10, seconds: 10 } : { rate: 20, seconds: 60 };
  const budgetUntil = Date.now() + (ctx.quick ? 120_000 : 300_000);
  const referrals: ReferralDetectedV1[] = [];
  const lead = leadOf(ctx.policy, plainDetections('x', 1)[0]!);
  const leadActor = actor(lead);

  // The lead's topic carries both the routed notifications and the answers to its actions.
  const routed = new Set<string>();
  const answeredAt = new Map<string, number>();
  await ctx.kafka.collect([`${topics.notifyPrefix}${lead.toLowerCase()}`], (r) => {
    const type = r.headers['ce_type'];
    if (type === 'referral.routed.v1' && r.key) routed.add(r.key);
    else if (type?.startsWith('referral.action.') && r.value) {
      const answer = JSON.parse(r.value.toString()) as { actionId: string; outcome: string };
      answeredAt.set(answer.actionId, answer.outcome === 'ACCEPTED' ? r.at : -1);
    }
  });
  const producer = await ctx.kafka.producer();
  const engine = await startEngine({ connection: ctx.connection, client: ctx.client, brokers: ctx.brokers, taskQueue, topics, policy: ctx.policy, actionsGroup: `bench-actions-${stamp}` });

  /**
   * Opens up to `count` more referrals (as fast as they are routed, at most 50 waiting, within the
   * time box) and waits until they are routed, i.e. waiting for acknowledgement.
   */
  const openBoxMs = ctx.quick ? 12_000 : 150_000;
  /** Referrals routed per second while opening them, as last measured (a guess until then). */
  let openRate = 8;
  const open = async (count: number) => {
    const t0 = Date.now();
    const before = referrals.length;
    const batch = plainDetections(`A${stamp}-${referrals.length}`, count);
    const routedOf = () => batch.filter((r) => routed.has(r.referralId)).length;
    const until = Date.now() + openBoxMs;
    let started = 0;
    await pool(batch, 16, async (r) => {
      while (started - routedOf() > 50 && Date.now() < until) await sleep(50);
      if (Date.now() > until) return;
      started++;
      await startReferral(ctx.client, taskQueue, r, ctx.policy);
    });
    await waitUntil(routedOf, (n) => n >= started, 60_000, 200);
    referrals.push(...batch.filter((r) => routed.has(r.referralId)));
    if (referrals.length - before >= 20) openRate = (referrals.length - before) / Math.max(1, (Date.now() - t0) / 1000);
  };
  let used = 0;
  const step = async (rate: number, seconds: number, sendVia: BenchProducer): Promise<Step> => {
    const wanted = Math.round(rate * seconds);
    if (referrals.length - used < wanted) await open(wanted - (referrals.length - used));
    const targets = referrals.slice(used, used + wanted);
    used += targets.length;
    const sentAt = new Map<string, number>();
    await Promise.all(
      await paced(rate, targets.length, async (i) => {
        const referralId = targets[i]!.referralId;
        const id = `ack-${referralId}`;
        sentAt.set(id, Date.now());
        await sendVia.send(
          encodeCloudEvent(actionsTopicFor(topics, lead), {
            id,
            source: `urn:agency:${lead.toLowerCase()}`,
            type: 'referral.action.acknowledge.v1',
            subject: referralId,
            time: new Date().toISOString(),
            data: { referralId, actor: leadActor },
          }),
        );
      }),
    );
    await waitUntil(() => [...sentAt.keys()].filter((id) => answeredAt.has(id)).length, (n) => n === sentAt.size, 60_000, 200);
    const latencies = [...sentAt].filter(([id]) => (answeredAt.get(id) ?? -1) > 0).map(([id, at]) => answeredAt.get(id)! - at);
    return { rate, seconds: targets.length / rate, latency: summarize(latencies), answered: latencies.length, sent: sentAt.size };
  };

  const steps: Step[] = [];
  let floor: Step;
  try {
    await open(5);
    await step(5, 1, producer); // warm-up: consumer group joined, caches filled
    const first = await step(main.rate, main.seconds, producer);
    steps.push(first);
    ctx.log(`${main.rate}/s for ${round(first.seconds)} s over Kafka: p50 ${first.latency.p50} ms, p99 ${first.latency.p99} ms`);

    // Full run: the highest rate held for 60 s with p99 under 1 s, up or down from the first step.
    if (!ctx.quick) {
      const holds = (s: Step) => s.answered === s.sent && s.latency.p99 < 1000;
      let rate = holds(first) ? main.rate * 2 : main.rate / 2;
      while (rate >= 2.5 && rate <= 160) {
        const estimateMs = (Math.max(0, rate * 60 - (referrals.length - used)) / openRate + 70) * 1000;
        if (Date.now() + estimateMs > budgetUntil) {
          ctx.log(`rate search stopped before ${rate}/s: out of time`);
          break;
        }
        const s = await step(rate, 60, producer);
        steps.push(s);
        if (s.seconds < 60) {
          ctx.log(`rate search stopped at ${rate}/s: only ${s.sent} referrals could be opened in time`);
          break;
        }
        ctx.log(`${rate}/s for 60 s: p99 ${s.latency.p99} ms (${s.answered}/${s.sent} answered)`);
        if (holds(s) !== holds(first)) break;
        rate = holds(s) ? rate * 2 : rate / 2;
      }
    }
  } finally {
    await engine.stop();
  }

  // Baseline: a no-op update through the client on minimal open workflows, same rate, 5 s (quick) or 20 s.
  const floorQueue = `bench-actions-floor-${stamp}`;
  const floorWorker = await startFloorWorker({ connection: ctx.connection, taskQueue: floorQueue, onActivity: () => undefined });
  try {
    const count = Math.max(5, Math.round(main.rate * Math.min(steps[0]!.seconds, ctx.quick ? 5 : 20)));
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
  const first = steps[0]!;
  const label = `at ${first.rate}/s for ${round(first.seconds)} s`;
  ctx.figures.push(
    figure({ scenario: s, name: `action → accepted answer p50 ${label}`, value: first.latency.p50, unit: 'ms', baseline: { name: 'client update, no-op', value: floor.latency.p50 } }),
    figure({
      scenario: s,
      name: `action → accepted answer p99 ${label}`,
      value: first.latency.p99,
      unit: 'ms',
      baseline: { name: 'client update, no-op', value: floor.latency.p99 },
      target: { text: '< 250 ms at 20/s', met: first.rate >= 20 ? first.answered === first.sent && first.latency.p99 < 250 : null },
      ...(first.answered < first.sent
        ? { note: `only ${first.answered} of ${first.sent} answered "accepted" within 60 s of the last send` }
        : first.rate < 20
          ? { note: `measured at ${first.rate}/s (quick run); the target is for 20/s` }
          : {}),
    }),
  );
  if (!ctx.quick) {
    const held = steps.filter((x) => x.seconds >= 60 && x.answered === x.sent && x.latency.p99 < 1000).map((x) => x.rate);
    ctx.figures.push(
      figure({
        scenario: s,
        name: 'highest rate held 60 s with p99 < 1 s',
        value: held.length ? Math.max(...held) : null,
        unit: '/s',
        note: `steps tried: ${steps.map((x) => `${x.rate}/s → p99 ${x.latency.p99} ms${x.answered < x.sent ? ` (${x.answered}/${x.sent})` : ''}`).join(', ')}`,
      }),
    );
  }
  ctx.details['actions'] = { path: 'Kafka actions topic → bridge/actions.ts → Temporal update → answer on the lead topic', steps, floor, referralsOpened: referrals.length };
}
