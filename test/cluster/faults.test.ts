/**
 * The cluster profile (scripts/cluster.sh: PostgreSQL, Temporal server, three Kafka nodes with
 * replication factor 3 and min.insync.replicas=2, two engine replicas sharing the task queue and
 * the consumer groups) under faults, with exact counts: referrals in, workflows started (one run
 * each in PostgreSQL visibility), routed notifications out (three per referral, one event id each),
 * actions answered (one answer id each, ACCEPTED).
 *
 *  - one Kafka node killed (SIGKILL) while intakes and actions flow, then restarted;
 *  - one engine replica killed (SIGKILL) mid-batch: the other takes its partitions and workflow
 *    tasks; the restarted one rejoins both consumer groups;
 *  - PostgreSQL restarted under load;
 *  - the Temporal server restarted under load.
 *
 * Intakes and actions are produced as FIA's own principal on FIA's topics, as an agency would.
 */
import type { Client } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OutboundRecord } from '../../messaging/records.js';
import type { ReferralDetectedV1 } from '../../schemas/intake.js';
import { detected } from '../support/fixtures.js';
import type { ReadRecord } from '../support/kafka-harness.js';
import { kafkajsAuth } from '../support/test-kafka.js';
import {
  acknowledge,
  AgencyProducer,
  answers,
  brokers,
  cluster,
  collectNotifications,
  eventually,
  groupMembers,
  idOf,
  intake,
  intakeTopic,
  pidOf,
  routedReport,
  runCounts,
  sleep,
  startedCount,
  temporalClient,
} from './cluster-harness.js';
import { alive } from '../support/engine-process.js';

const info = inject('cluster');
describe.skipIf(!info.available)('cluster profile under faults (PostgreSQL, Temporal server, 3 Kafka nodes, 2 engine replicas)', () => {
  let client: Client;
  let closeClient: () => Promise<void>;
  let notifications: ReadRecord[];
  let closeNotifications: () => Promise<void>;
  let fia: AgencyProducer;

  beforeAll(async () => {
    ({ client, close: closeClient } = await temporalClient());
    ({ records: notifications, close: closeNotifications } = await collectNotifications());
    fia = new AgencyProducer('fia');
    await fia.connect();
  });

  afterAll(async () => {
    await fia?.disconnect();
    await closeNotifications?.();
    await closeClient?.();
  });

  /** Referrals taken in over Kafka and routed (three notifications each): open, waiting for acknowledgement. */
  const openReferrals = async (count: number): Promise<ReferralDetectedV1[]> => {
    const referrals = Array.from({ length: count }, () => detected());
    await fia.send(referrals.map(intake));
    await eventually(() => routedReport(notifications, referrals).complete, (n) => n === count, 120_000, `${count} referrals routed`);
    return referrals;
  };

  /** Records sent one after another, `everyMs` apart: a steady flow. */
  const flow = async (records: OutboundRecord[], everyMs: number) => {
    for (const r of records) {
      await fia.send([r]);
      await sleep(everyMs);
    }
  };
  /** Intakes with the actions spread among them. */
  const interleave = (intakes: OutboundRecord[], actions: OutboundRecord[]) => {
    const out: OutboundRecord[] = [];
    const every = Math.max(1, Math.floor(intakes.length / Math.max(1, actions.length)));
    let a = 0;
    intakes.forEach((r, i) => {
      out.push(r);
      if (i % every === every - 1 && a < actions.length) out.push(actions[a++]!);
    });
    out.push(...actions.slice(a));
    return out;
  };

  /** Nothing lost, nothing doubled: every referral started once and routed to its three agencies once by event id; every action answered ACCEPTED under one id. */
  const expectExactlyOnce = async (what: string, referrals: ReferralDetectedV1[], actions: OutboundRecord[], timeoutMs = 180_000) => {
    await eventually(() => startedCount(client, referrals).catch(() => 0), (n) => n === referrals.length, timeoutMs, `${what}: every referral started`);
    await eventually(() => routedReport(notifications, referrals).complete, (n) => n === referrals.length, timeoutMs, `${what}: every referral routed`).catch((err: Error) => {
      // Name what is missing: the referral and the agencies it was not routed to.
      const missing = [...routedReport(notifications, referrals).perReferral].filter(([, t]) => t.length < 3).map(([id, t]) => `${id} has ${t.sort().join('+') || 'nothing'}`);
      throw new Error(`${err.message}; ${missing.join('; ')}`);
    });
    await eventually(() => actions.filter((a) => answers(notifications).has(idOf(a))).length, (n) => n === actions.length, timeoutMs, `${what}: every action answered`);
    const counts = await eventually(() => runCounts(client, referrals), (c) => c.every((n) => n >= 1), 60_000, `${what}: every referral visible`);
    expect(counts, 'runs per referral').toEqual(referrals.map(() => 1));
    // Late redeliveries have a moment to show up before the events are counted.
    await sleep(2_000);
    const report = routedReport(notifications, referrals);
    expect(report.wrong, 'referrals routed to other agencies than FIA, MOI and SWD').toEqual([]);
    expect(report.events, 'routed events by id').toBe(referrals.length * 3);
    expect(report.complete).toBe(referrals.length);
    expect(report.differing, 'copies of an event id that differ').toBe(0);
    const by = answers(notifications);
    for (const a of actions) {
      const got = by.get(idOf(a)) ?? [];
      expect(got.length, `answers to ${idOf(a)}`).toBeGreaterThanOrEqual(1);
      expect(new Set(got.map((n) => n.headers['ce_type'])), idOf(a)).toEqual(new Set(['referral.action.accepted.v1']));
      expect(new Set(got.map((n) => n.headers['ce_id'])).size).toBe(1);
    }
    const answerCopies = actions.reduce((s, a) => s + (by.get(idOf(a))!.length - 1), 0);
    console.info(
      `${what}: ${referrals.length} referrals in, ${counts.length} workflows started (1 run each), ${report.events} routed events out ` +
        `(${report.copies} redelivered copies), ${actions.length} actions in, ${actions.length} answered (${answerCopies} redelivered copies)`,
    );
  };

  it('one Kafka node killed (SIGKILL) while intakes and actions flow, then restarted: nothing lost, nothing doubled', async () => {
    const opened = await openReferrals(8);
    const referrals = Array.from({ length: 50 }, () => detected());
    const actions = opened.map((r) => acknowledge(r.referralId));
    const flowing = flow(interleave(referrals.map(intake), actions), 100);
    await sleep(2_000);
    const victim = pidOf('kafka-2');
    process.kill(victim, 'SIGKILL');
    await eventually(() => !alive(victim), (dead) => dead, 10_000, 'kafka-2 dead');
    await flowing;
    await sleep(5_000);
    await cluster('start', 'kafka-2');
    await expectExactlyOnce('broker killed', [...opened, ...referrals], actions);
    // And the restarted node is back in every replica set of the intake topic.
    const admin = new Kafka({ clientId: 'cluster-test-isr', brokers: brokers().split(','), logLevel: logLevel.NOTHING, ...kafkajsAuth('admin') }).admin();
    await admin.connect();
    try {
      const isr = async () => (await admin.fetchTopicMetadata({ topics: [intakeTopic('FIA')] })).topics[0]!.partitions.map((p) => p.isr.length);
      expect(await eventually(isr, (l) => l.every((n) => n === 3), 120_000, 'kafka-2 back in sync')).toEqual([3, 3, 3]);
    } finally {
      await admin.disconnect();
    }
  });

  it('one engine replica killed (SIGKILL) mid-batch: the other takes its partitions and workflow tasks, the restarted one rejoins', async () => {
    expect(await eventually(groupMembers, (g) => g.intake === 2 && g.actions === 2, 60_000, 'two members in each group')).toEqual({ intake: 2, actions: 2 });
    const opened = await openReferrals(10);
    const referrals = Array.from({ length: 120 }, () => detected());
    const actions = opened.map((r) => acknowledge(r.referralId));
    const producing = fia.send(interleave(referrals.map(intake), actions));
    const until = Date.now() + 60_000;
    while (Date.now() < until && (await startedCount(client, referrals.slice(0, 6))) < 1) await sleep(5);
    const victim = pidOf('engine-1');
    process.kill(victim, 'SIGKILL');
    await producing;
    const startedAtKill = await startedCount(client, referrals);
    const answeredAtKill = actions.filter((a) => answers(notifications).has(idOf(a))).length;
    expect(startedAtKill, 'some intakes done before the kill').toBeGreaterThanOrEqual(1);
    expect(startedAtKill + answeredAtKill, 'killed mid-batch').toBeLessThan(referrals.length + actions.length);
    // engine-2 alone finishes the batch: the intakes and the actions on referrals engine-1 had cached.
    await expectExactlyOnce('engine replica killed', [...opened, ...referrals], actions, 240_000);
    expect(alive(victim), 'engine-1 stayed dead while engine-2 finished').toBe(false);

    await cluster('start', 'engine-1');
    expect(await eventually(groupMembers, (g) => g.intake === 2 && g.actions === 2, 120_000, 'engine-1 rejoined both groups')).toEqual({ intake: 2, actions: 2 });
    const more = Array.from({ length: 10 }, () => detected());
    await fia.send(more.map(intake));
    await expectExactlyOnce('after engine-1 rejoined', more, []);
    console.info(`engine-1 killed after ${startedAtKill}/${referrals.length} intakes and ${answeredAtKill}/${actions.length} actions`);
  });

  it('PostgreSQL restarted under load: nothing lost, nothing doubled', async () => {
    const opened = await openReferrals(6);
    const referrals = Array.from({ length: 40 }, () => detected());
    const actions = opened.map((r) => acknowledge(r.referralId));
    const flowing = flow(interleave(referrals.map(intake), actions), 200);
    await sleep(2_000);
    await cluster('stop', 'postgres');
    await sleep(5_000);
    await cluster('start', 'postgres');
    await flowing;
    await expectExactlyOnce('PostgreSQL restarted', [...opened, ...referrals], actions, 240_000);
  });

  it('the Temporal server restarted under load: nothing lost, nothing doubled', async () => {
    const opened = await openReferrals(6);
    const referrals = Array.from({ length: 40 }, () => detected());
    const actions = opened.map((r) => acknowledge(r.referralId));
    const flowing = flow(interleave(referrals.map(intake), actions), 200);
    await sleep(2_000);
    await cluster('stop', 'temporal');
    await sleep(5_000);
    await cluster('start', 'temporal');
    await flowing;
    await expectExactlyOnce('Temporal server restarted', [...opened, ...referrals], actions, 240_000);
  });
});

if (!info.available) {
  describe('cluster profile', () => {
    it.skip(`skipped: ${info.reason}`, () => {});
  });
}
