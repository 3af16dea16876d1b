/**
 * Delivery guarantees under faults, against the real Temporal dev server and Kafka broker, with
 * exact counts (nothing lost, nothing doubled):
 *  - the same intake or action message twice: one referral, one effect;
 *  - the bridge process killed (SIGKILL) mid-batch while it handles intakes and actions, then restarted;
 *  - the Temporal server stopped for 20 s while intakes and actions arrive, then started;
 *  - the Kafka broker restarted while workflows publish: every notification arrives, once by event id.
 *
 * The bridge runs as the real engine process (`node --import tsx workers/engine.ts`,
 * ENGINE_ROLES=bridge); the worker runs in this process. Temporal and Kafka are stopped and
 * started alone with `bash scripts/stack.sh stop|start temporal|kafka` on the test stack.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { once } from 'node:events';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { senderDirectory } from '../../bridge/senders.js';
import { KeyRing } from '../../codec/aes-gcm-codec.js';
import { allNotifyTopics, loadKafkaAccess } from '../../config/kafka-access.js';
import { encodeCloudEvent } from '../../messaging/cloudevents.js';
import type { OutboundRecord } from '../../messaging/records.js';
import { intakeRecord } from '../../scripts/intake-event.js';
import type { ReferralDetectedV1 } from '../../schemas/intake.js';
import { referralStateQuery } from '../../workflows/messages.js';
import { createLogger } from '../../workers/logger.js';
import { detected, uniqueId, workflowInput } from '../support/fixtures.js';
import { prefixedTopics, startTestEngine, type TestEngine } from '../support/engine-harness.js';
import { eventually, KafkaHarness, type ReadRecord } from '../support/kafka-harness.js';
import { repoRoot } from '../support/stack-paths.js';
import { readTopics } from '../support/topic-reader.js';
import { actionsTopicOf, engineSecurityEnv, intakeTopicOf, kafkajsAuth, notifyTopicOf } from '../support/test-kafka.js';

const execFileAsync = promisify(execFile);
const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const stackEnv = inject('stackEnv');
const run = uniqueId('flt');
const topics = prefixedTopics(run);
const access = loadKafkaAccess();
const notifyTopics = allNotifyTopics(access, topics);
/** What the bridge consumes: every agency's (and partner organisation's) own topic. */
const senders = senderDirectory(access, topics);
const taskQueue = `${run}-queue`;
const groups = { intake: `${run}-intake`, actions: `${run}-actions` };
const logger = createLogger({ level: 'error' });
const payloadKey = randomBytes(32);
const keyRing = new KeyRing('faults', { faults: payloadKey });
const lead = { actorId: 'fia-officer-3', agency: 'FIA', role: 'OFFICER' } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `bash scripts/stack.sh <args>` on the test stack (async: the worker in this process keeps running meanwhile). */
async function stack(...args: string[]): Promise<void> {
  await execFileAsync('bash', [`${repoRoot}scripts/stack.sh`, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...stackEnv },
  });
}

describe('delivery guarantees under faults (real Temporal server and Kafka broker)', () => {
  const harness = new KafkaHarness(brokers);
  let engine: TestEngine;
  let client: Client;
  let notifications: ReadRecord[];
  let bridge: ChildProcess | undefined;
  let bridges = 0;

  /** The engine's bridge role as its own process, on this run's topics, groups and task queue; its log goes to the stack's log folder. */
  const startBridge = (): ChildProcess => {
    bridges += 1;
    mkdirSync(`${stackEnv['STACK_DIR']}/logs`, { recursive: true });
    const log = openSync(`${stackEnv['STACK_DIR']}/logs/${run}-bridge-${bridges}.log`, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/engine.ts'], {
      cwd: repoRoot,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        ENGINE_ROLES: 'bridge',
        TEMPORAL_ADDRESS: temporalAddress,
        TEMPORAL_TASK_QUEUE: taskQueue,
        KAFKA_BROKERS: brokers,
        KAFKA_CLIENT_ID: `${run}-bridge`,
        KAFKA_INTAKE_GROUP: groups.intake,
        KAFKA_ACTIONS_GROUP: groups.actions,
        KAFKA_TOPIC_INTAKE: topics.intake,
        KAFKA_TOPIC_ACTIONS: topics.actions,
        KAFKA_TOPIC_DEAD_LETTER: topics.deadLetter,
        KAFKA_TOPIC_EVENTS: topics.events,
        KAFKA_TOPIC_NOTIFY_PREFIX: topics.notifyPrefix,
        LOG_LEVEL: 'warn',
        PAYLOAD_KEYS: `faults:${payloadKey.toString('base64')}`,
        PAYLOAD_KEYS_FILE: '',
        PAYLOAD_ACTIVE_KEY: '',
        // Topics carry the run's prefix, which the ACL table does not name: every client is the admin principal.
        ...engineSecurityEnv('admin'),
      },
    });
    closeSync(log);
    return child;
  };
  const stopBridge = async (child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM') => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  };

  const action = (type: string, data: { referralId: string } & Record<string, unknown>): OutboundRecord =>
    encodeCloudEvent(actionsTopicOf(topics, lead.agency), { id: uniqueId('flt-action'), source: 'urn:agency:fia', type, subject: data.referralId, time: new Date().toISOString(), data });
  /** An intake on its detecting agency's own topic. */
  const intake = (r: ReferralDetectedV1, source?: string) => intakeRecord(intakeTopicOf(topics, r.sourceAgency), r, source);
  const acknowledge = (referralId: string) => action('referral.action.acknowledge.v1', { referralId, actor: lead });
  const screen = (referralId: string) =>
    action('referral.action.complete-screening.v1', { referralId, actor: lead, outcome: 'CONFIRMED', victimIdentified: false, victimAtRisk: false, consent: 'NOT_REQUIRED' });
  const idOf = (r: OutboundRecord) => r.headers['ce_id']!;

  /** Answers received so far to each action, by the action's id. */
  const answers = () => {
    const by = new Map<string, ReadRecord[]>();
    for (const n of notifications) {
      const id = n.headers['ce_id'];
      if (n.headers['ce_type']?.startsWith('referral.action.') && id?.endsWith('/answer')) by.set(id.slice(0, -'/answer'.length), [...(by.get(id.slice(0, -'/answer'.length)) ?? []), n]);
    }
    return by;
  };
  const answeredCount = (actions: OutboundRecord[]) => {
    const by = answers();
    return actions.filter((a) => by.has(idOf(a))).length;
  };
  /** Every action answered, each only ever ACCEPTED, with one answer id (redeliveries repeat it). */
  const expectAcceptedOnce = (actions: OutboundRecord[]) => {
    const by = answers();
    for (const a of actions) {
      const got = by.get(idOf(a)) ?? [];
      expect(got.length, `answers to ${idOf(a)}`).toBeGreaterThanOrEqual(1);
      expect(new Set(got.map((n) => n.headers['ce_type'])), idOf(a)).toEqual(new Set(['referral.action.accepted.v1']));
      expect(new Set(got.map((n) => n.headers['ce_id'])).size).toBe(1);
    }
  };

  const started = async (referrals: ReferralDetectedV1[]) => {
    const found = await Promise.all(
      referrals.map((r) =>
        client.workflow
          .getHandle(`referral-${r.referralId}`)
          .describe()
          .then(
            () => 1,
            () => 0, // not started (yet)
          ),
      ),
    );
    return found.reduce<number>((a, b) => a + b, 0);
  };
  /** Runs of each referral's workflow in Temporal's visibility: every one must be exactly 1. */
  const runCounts = async (referrals: ReferralDetectedV1[]) => {
    const counts = new Map(referrals.map((r) => [`referral-${r.referralId}`, 0]));
    for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND WorkflowType = 'referralWorkflow'` })) {
      if (counts.has(wf.workflowId)) counts.set(wf.workflowId, counts.get(wf.workflowId)! + 1);
    }
    return [...counts.values()];
  };
  const expectStartedOnce = async (referrals: ReferralDetectedV1[]) => {
    const counts = await eventually(() => runCounts(referrals), (c) => c.every((n) => n >= 1), 30_000, 'every referral visible');
    expect(counts).toEqual(referrals.map(() => 1));
  };
  const timelineCount = async (referralId: string, what: string) =>
    (await client.workflow.getHandle(`referral-${referralId}`).query(referralStateQuery)).timeline.filter((e) => e.action === what).length;

  /** Referrals started directly, waiting for their acknowledgement (routed, clock running). */
  const openReferrals = async (count: number): Promise<ReferralDetectedV1[]> => {
    const referrals = Array.from({ length: count }, () => detected());
    for (const r of referrals) await client.workflow.start('referralWorkflow', { workflowId: `referral-${r.referralId}`, taskQueue, args: [workflowInput(r)] });
    for (const r of referrals) {
      await eventually(
        () => client.workflow.getHandle(`referral-${r.referralId}`).query(referralStateQuery),
        (s) => s.stage === 'SCREENING' && (s.sla ?? []).some((c) => c.step === 'acknowledge' && c.status === 'RUNNING'),
        30_000,
        `${r.referralId} waiting for acknowledgement`,
      );
    }
    return referrals;
  };

  /** Sum over the topics' partitions of what a consumer group has not committed yet. */
  const uncommitted = async (groupId: string, topicList: string[]) => {
    const admin = new Kafka({ clientId: `${run}-lag`, brokers: [brokers], logLevel: logLevel.NOTHING, ...kafkajsAuth() }).admin();
    await admin.connect();
    try {
      const committed = await admin.fetchOffsets({ groupId, topics: topicList });
      let sum = 0;
      for (const topic of topicList) {
        const ends = await admin.fetchTopicOffsets(topic);
        const done = new Map((committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
        sum += ends.reduce((s, end) => s + Number(end.high) - Math.max(done.get(end.partition) ?? -1, Number(end.low)), 0);
      }
      return sum;
    } finally {
      await admin.disconnect();
    }
  };

  beforeAll(async () => {
    await harness.createEngineTopics(topics);
    // As workers/engine.ts does: the publisher connected before the worker runs.
    engine = await startTestEngine({ temporalAddress, taskQueue, topics, keyRing, kafka: { brokers, run, connectPublisherFirst: true }, logger });
    client = engine.client;
    notifications = await harness.collect(notifyTopics);
    bridge = startBridge();
  });

  afterAll(async () => {
    await stopBridge(bridge);
    await engine?.stop();
    await harness.close();
  });

  it('the same intake message twice, and the same referral under another event id, start one referral; the same action twice has one effect', async () => {
    const referral = detected();
    const record = intake(referral, 'urn:agency:fia');
    const resubmitted = { ...record, headers: { ...record.headers, ce_id: `${idOf(record)}-resubmitted` } };
    await harness.produce([record, record, resubmitted]);
    const routedTo = () => notifications.filter((n) => n.key === referral.referralId && n.headers['ce_type'] === 'referral.routed.v1');
    await eventually(routedTo, (r) => r.length >= 3, 60_000, 'referral routed');

    const opened = await openReferrals(1);
    const ack = acknowledge(opened[0]!.referralId);
    await harness.produce([ack, ack]);
    await eventually(() => answers().get(idOf(ack)) ?? [], (a) => a.length >= 2, 60_000, 'both copies of the action answered');

    // Both intake copies consumed: the group has committed everything.
    await eventually(() => uncommitted(groups.intake, senders.intakeTopics), (n) => n === 0, 30_000, 'intake consumed');
    await sleep(1_000);
    await expectStartedOnce([referral]);
    expect(routedTo().map((n) => n.topic.slice(topics.notifyPrefix.length)).sort()).toEqual(['fia', 'moi', 'swd']);
    expectAcceptedOnce([ack]);
    expect(answers().get(idOf(ack))).toHaveLength(2);
    expect(await timelineCount(opened[0]!.referralId, 'ACKNOWLEDGED')).toBe(1);
  });

  it('the bridge killed (SIGKILL) mid-batch of intakes and actions, then restarted: every referral started once, every action applied once', async () => {
    const opened = await openReferrals(12);
    // Enough intakes that, with the bridge's records in flight, the last cannot be started by the
    // time one of the first few is (when the bridge is killed).
    const intakes = Array.from({ length: 150 }, () => detected());
    // Per referral: acknowledge then screen, same key, so in this order on one partition.
    const actions = opened.flatMap((r) => [acknowledge(r.referralId), screen(r.referralId)]);
    // Actions (slower: each is a workflow update) first; the intakes once some actions are done,
    // so that the bridge is in the middle of both when it is killed.
    await harness.produce(actions);
    await eventually(() => answeredCount(actions), (n) => n >= 2, 60_000, 'first actions answered');
    // Probed while they are still being produced: the kill comes early in the batch.
    const producing = harness.produce(intakes.map((r) => intake(r)));
    const until = Date.now() + 60_000;
    // The first ones produced are consumed first: a few describes are a cheap enough probe.
    while (Date.now() < until && (await started(intakes.slice(0, 6))) < 1) await sleep(2);
    await stopBridge(bridge, 'SIGKILL');
    await producing;
    let answeredAtKill = 0;
    let startedAtKill = 0;
    answeredAtKill = answeredCount(actions);
    startedAtKill = await started(intakes);
    expect(answeredAtKill, 'some actions done before the kill').toBeGreaterThanOrEqual(2);
    expect(startedAtKill, 'some intakes done before the kill').toBeGreaterThanOrEqual(1);
    // Mid-batch: not everything was done.
    expect(answeredAtKill + startedAtKill, 'the bridge was killed before finishing').toBeLessThan(actions.length + intakes.length);

    bridge = startBridge();
    await eventually(() => started(intakes), (n) => n === intakes.length, 90_000, 'every referral started after the restart');
    await eventually(() => answeredCount(actions), (n) => n === actions.length, 90_000, 'every action answered after the restart');
    await eventually(() => uncommitted(groups.actions, senders.actionsTopics), (n) => n === 0, 30_000, 'actions committed');

    await expectStartedOnce(intakes);
    expectAcceptedOnce(actions);
    for (const r of opened) {
      expect(await timelineCount(r.referralId, 'ACKNOWLEDGED'), r.referralId).toBe(1);
      expect(await timelineCount(r.referralId, 'SCREENED'), r.referralId).toBe(1);
    }
    console.info(`bridge killed after ${startedAtKill}/${intakes.length} intakes and ${answeredAtKill}/${actions.length} actions`);
  });

  it('Temporal stopped for 20 s while intakes and actions arrive, then started: everything is applied once afterwards', async () => {
    const opened = await openReferrals(4);
    const early = Array.from({ length: 5 }, () => detected());
    const late = Array.from({ length: 5 }, () => detected());
    const acks = opened.map((r) => acknowledge(r.referralId));

    await stack('stop', 'temporal');
    const stoppedAt = Date.now();
    try {
      await harness.produce(early.map((r) => intake(r)));
      await sleep(8_000);
      await harness.produce([...late.map((r) => intake(r)), ...acks]);
      await sleep(Math.max(0, stoppedAt + 18_000 - Date.now()));
      // Nothing was accepted, so nothing was committed: all of it waits on the broker.
      expect(await uncommitted(groups.intake, senders.intakeTopics)).toBe(early.length + late.length);
      expect(await uncommitted(groups.actions, senders.actionsTopics)).toBe(acks.length);
      await sleep(Math.max(0, stoppedAt + 20_000 - Date.now()));
    } finally {
      // Whatever happened, Temporal comes back: the test files after this one need it.
      await stack('start', 'temporal');
    }

    const intakes = [...early, ...late];
    await eventually(() => started(intakes).catch(() => 0), (n) => n === intakes.length, 90_000, 'every referral started after Temporal is back');
    await eventually(() => answeredCount(acks), (n) => n === acks.length, 90_000, 'every action answered after Temporal is back');
    await eventually(() => uncommitted(groups.intake, senders.intakeTopics), (n) => n === 0, 30_000, 'intake committed');
    await expectStartedOnce(intakes);
    expectAcceptedOnce(acks);
    for (const r of opened) expect(await timelineCount(r.referralId, 'ACKNOWLEDGED'), r.referralId).toBe(1);
    // And the referrals run: each was routed and notified.
    await eventually(
      () => new Set(notifications.filter((n) => intakes.some((r) => r.referralId === n.key) && n.headers['ce_type'] === 'referral.routed.v1').map((n) => n.key)).size,
      (n) => n === intakes.length,
      60_000,
      'every referral routed',
    );
  });

  it('the broker restarted while workflows publish: every notification arrives, exactly once by event id', async () => {
    await stopBridge(bridge);
    bridge = undefined;
    const startBatch = async (n: number) => {
      const referrals = Array.from({ length: n }, () => detected());
      for (const r of referrals) await client.workflow.start('referralWorkflow', { workflowId: `referral-${r.referralId}`, taskQueue, args: [workflowInput(r)] });
      return referrals;
    };
    const before = await startBatch(6);
    // Referrals keep starting (and publishing) while the broker shuts down.
    let stopped = false;
    const stopping = stack('stop', 'kafka').finally(() => (stopped = true));
    const whileStopping: ReferralDetectedV1[] = [];
    while (!stopped && whileStopping.length < 20) {
      whileStopping.push(...(await startBatch(1)));
      await sleep(100);
    }
    await stopping;
    const whileDown = await startBatch(6);
    // Longer than one publish attempt's own retries (kafkajs), so activities fail and Temporal retries them.
    await sleep(12_000);
    await stack('start', 'kafka');
    const after = await startBatch(6);
    const referrals = [...before, ...whileStopping, ...whileDown, ...after];

    // A cross-border trafficking referral is routed to FIA (lead), SWD and MOI, and the step goes to the operators' stream.
    const expected = new Set(
      referrals.flatMap((r) => {
        const wf = `referral-${r.referralId}`;
        return [`${wf}/routed.2/FIA`, `${wf}/routed.2/SWD`, `${wf}/routed.2/MOI`, `${wf}/stage/2.ROUTED/OPERATORS`];
      }),
    );
    const keys = new Set(referrals.map((r) => r.referralId));
    const read = () => readTopics(brokers, [notifyTopicOf(topics, 'FIA'), notifyTopicOf(topics, 'SWD'), notifyTopicOf(topics, 'MOI'), topics.events]).then((all) => all.filter((r) => r.key !== null && keys.has(r.key)));
    let records: ReadRecord[] = [];
    try {
      records = await eventually(read, (rs) => new Set(rs.map((r) => r.headers['ce_id'])).size >= expected.size, 90_000, 'every notification on the broker');
    } catch (err) {
      // Say what is missing and where its workflow stands.
      const last = await read();
      const seen = new Set(last.map((r) => r.headers['ce_id']));
      const missing = [...expected].filter((id) => !seen.has(id));
      const counts = new Map<string, string[]>();
      for (const r of last) counts.set(r.headers['ce_id']!, [...(counts.get(r.headers['ce_id']!) ?? []), `${r.topic}/${r.partition}@${r.offset}`]);
      const doubled = [...counts].filter(([, at]) => at.length > 1);
      const pending = [];
      for (const wf of new Set(missing.map((id) => id.split('/')[0]!))) {
        const d = await client.workflow.getHandle(wf).describe();
        pending.push({ wf, status: d.status.name, pending: d.raw.pendingActivities?.map((a) => ({ attempt: a.attempt, state: a.state, lastFailure: a.lastFailure?.message })) });
      }
      throw new Error(`${(err as Error).message}\nmissing: ${JSON.stringify(missing)}\ndoubled: ${JSON.stringify(doubled)}\nworkflows: ${JSON.stringify(pending)}`);
    }

    const byId = new Map<string, ReadRecord[]>();
    for (const r of records) byId.set(r.headers['ce_id']!, [...(byId.get(r.headers['ce_id']!) ?? []), r]);
    // After dropping duplicates by event id: exactly the expected events, none missing, none extra.
    expect(new Set(byId.keys())).toEqual(expected);
    for (const [id, copies] of byId) {
      // A redelivered copy is the same event: same topic, key, headers and value.
      for (const copy of copies) {
        expect(copy.topic, id).toBe(copies[0]!.topic);
        expect(copy.key, id).toBe(copies[0]!.key);
        expect(copy.headers, id).toEqual(copies[0]!.headers);
        expect(copy.value!.equals(copies[0]!.value!), id).toBe(true);
      }
    }
    // The fault did hit publishing: some notification activity failed and was retried.
    let retried = 0;
    for (const r of referrals) {
      const history = await client.workflow.getHandle(`referral-${r.referralId}`).fetchHistory();
      if ((history.events ?? []).some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)) retried++;
    }
    expect(retried, 'referrals whose publishing was retried').toBeGreaterThan(0);
    console.info(`broker restart: ${records.length} records for ${expected.size} events (${records.length - expected.size} duplicates by offset); ${retried} referrals retried publishing`);
  });
});
