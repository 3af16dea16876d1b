import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDeadLetters } from '../../bridge/dead-letters.js';
import { KeyRing } from '../../codec/aes-gcm-codec.js';
import { unseal, unsealHeaders } from '../../codec/seal.js';
import { startIntakeBridge } from '../../bridge/index.js';
import { senderDirectory } from '../../bridge/senders.js';
import { loadKafkaAccess } from '../../config/kafka-access.js';
import { createKafka, type ConsumerRun } from '../../messaging/kafka.js';
import { createLogger } from '../../workers/logger.js';
import { intakeRecord } from '../../scripts/intake-event.js';
import { detected, shippedPolicy, uniqueId } from '../support/fixtures.js';
import { prefixedTopics, startTestEngine, type TestEngine } from '../support/engine-harness.js';
import { eventually, KafkaHarness } from '../support/kafka-harness.js';
import { repoRoot } from '../support/stack-paths.js';
import { engineSecurity, engineSecurityEnv, intakeTopicOf, notifyTopicOf } from '../support/test-kafka.js';
import type { ReferralDetectedV1 } from '../../schemas/intake.js';

const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const run = uniqueId('it');
const topics = prefixedTopics(run);
const agencies = ['fia', 'nccia', 'pta', 'pkcert', 'beoe', 'police', 'swd', 'moi', 'mofa', 'mophrd', 'ahtc-d', 'ahtc-n'];
const notifyTopics = agencies.map((a) => `${topics.notifyPrefix}${a}`);
const taskQueue = `${run}-queue`;
const groupId = `${run}-intake`;
const logger = createLogger({ level: 'warn' });
// Payloads are encrypted as in production: the worker, the client and the spawned bridge share this key.
const payloadKey = randomBytes(32);
const keyRing = new KeyRing('skeleton', { skeleton: payloadKey });
/** A referral on its detecting agency's own intake topic: the bridge takes the agency from the topic. */
const fromItsAgency = (referral: ReferralDetectedV1, source?: string) => intakeRecord(intakeTopicOf(topics, referral.sourceAgency), referral, source);

describe('walking skeleton through the real Temporal server and Kafka broker', () => {
  const harness = new KafkaHarness(brokers);
  let engine: TestEngine;
  let client: Client;
  let bridge: ConsumerRun | undefined;
  let notifications: Awaited<ReturnType<KafkaHarness['collect']>>;
  let deadLetters: Awaited<ReturnType<KafkaHarness['collect']>>;

  const startBridge = async () => {
    // Topics carry the run's prefix, which the ACL table does not name: the bridge connects as the admin principal.
    const kafka = createKafka({ brokers: [brokers], clientId: `${run}-bridge`, logger, security: engineSecurity('admin') });
    bridge = await startIntakeBridge({
      kafka,
      client,
      logger,
      groupId,
      senders: senderDirectory(loadKafkaAccess(), topics),
      publisher: engine.publisher,
      source: 'urn:referral-engine:skeleton',
      taskQueue,
      policy: shippedPolicy(),
      deadLetters: createDeadLetters(engine.publisher, topics.deadLetter, logger, { seal: keyRing }),
    });
  };

  beforeAll(async () => {
    await harness.createEngineTopics(topics);
    engine = await startTestEngine({ temporalAddress, taskQueue, topics, keyRing, kafka: { brokers, run }, logger });
    client = engine.client;
    notifications = await harness.collect(notifyTopics);
    deadLetters = await harness.collect([topics.deadLetter]);
  });

  afterAll(async () => {
    await bridge?.stop();
    await engine?.stop();
    await harness.close();
  });

  it('a referral.detected event becomes a workflow and a routed notification on the lead agency topic', async () => {
    await startBridge();
    const referral = detected({ facts: { caseType: 'FRAUDULENT_JOB_AD', location: { province: 'PUNJAB', district: 'Gujrat' } } });
    await harness.produce([fromItsAgency(referral, 'urn:agency:nccia')]);

    const lead = await eventually(
      () => notifications.filter((n) => n.key === referral.referralId && n.topic === `${topics.notifyPrefix}nccia`),
      (found) => found.length > 0,
      30_000,
      'routed notification on the NCCIA topic',
    );
    expect(lead).toHaveLength(1);
    expect(lead[0]!.headers).toMatchObject({ ce_specversion: '1.0', ce_type: 'referral.routed.v1', ce_subject: referral.referralId, 'content-type': 'application/json' });
    const data = JSON.parse(lead[0]!.value!.toString());
    expect(data).toMatchObject({ referralId: referral.referralId, caseType: 'FRAUDULENT_JOB_AD', role: 'LEAD', lead: 'NCCIA', district: 'Gujrat' });

    const routedTopics = await eventually(
      () => notifications.filter((n) => n.key === referral.referralId).map((n) => n.topic.slice(topics.notifyPrefix.length)).sort(),
      (t) => t.length === 5,
    );
    expect(routedTopics).toEqual(['beoe', 'mophrd', 'nccia', 'pkcert', 'pta']);
    const description = await client.workflow.getHandle(`referral-${referral.referralId}`).describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.typedSearchAttributes.get({ name: 'LeadAgency', type: 'KEYWORD' })).toBe('NCCIA');
    // Victims' data never reaches Kafka.
    const onKafka = notifications.filter((n) => n.key === referral.referralId).map((n) => `${n.value?.toString()}${JSON.stringify(n.headers)}`).join();
    for (const person of referral.persons) for (const value of Object.values(person)) if (typeof value === 'string' && value.length > 3) expect(onKafka).not.toContain(value);
  });

  it('a duplicate intake message starts nothing new', async () => {
    const referral = detected();
    const record = fromItsAgency(referral, 'urn:agency:fia');
    await harness.produce([record, record]);
    await eventually(() => notifications.filter((n) => n.key === referral.referralId && n.topic.endsWith('.fia')), (f) => f.length >= 1);
    // Give the second copy time to be consumed, then count.
    await new Promise((r) => setTimeout(r, 3_000));
    const runs = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId = 'referral-${referral.referralId}'` })) runs.push(wf);
    expect(runs).toHaveLength(1);
    expect(notifications.filter((n) => n.key === referral.referralId && n.topic.endsWith('.fia'))).toHaveLength(1);
  });

  it('poison messages go to the dead-letter topic with their bytes (sealed) and errors, and the good one behind them gets through', async () => {
    const good = detected();
    const invalid = detected({ facts: { location: { province: 'ATLANTIS' as never, district: 'x' } } });
    const garbage = Buffer.from([0x7b, 0xff, 0x00, 0x42]);
    // All with the same key on FIA's topic: one partition, so the good record waits behind the poison ones.
    const fiaIntake = intakeTopicOf(topics, 'FIA');
    await harness.produce([
      { topic: fiaIntake, key: good.referralId, value: garbage, headers: { ce_specversion: '1.0', ce_type: 'referral.detected.v1' } },
      { ...intakeRecord(fiaIntake, invalid), key: good.referralId },
      intakeRecord(fiaIntake, good),
    ]);
    await eventually(() => notifications.filter((n) => n.key === good.referralId), (f) => f.length >= 1, 30_000, 'good referral routed');
    const dead = await eventually(() => deadLetters.filter((d) => d.key === good.referralId), (d) => d.length === 2);
    // The values are sealed with the payload key: the original bytes come back with it, and only with it.
    for (const d of dead) expect(d.headers['dlq-sealed']).toBe('skeleton');
    const opened = dead.map((d) => unseal(keyRing, d.value!, d.headers['dlq-sealed']!));
    expect(Buffer.compare(opened[0]!, garbage)).toBe(0);
    expect(dead[0]!.value!.includes(garbage)).toBe(false);
    expect(dead[0]!.headers['dlq-reason']).toBe('INVALID_CLOUDEVENT');
    expect(JSON.parse(dead[0]!.headers['dlq-errors']!)[0]).toMatch(/^value: not valid JSON/);
    // The sender's headers are sealed too (only dlq-* stay readable), and unseal exactly.
    expect(dead[0]!.headers['dlq-source-topic']).toBe(fiaIntake);
    expect(dead[0]!.headers['ce_type']).toBeUndefined();
    expect(unsealHeaders(keyRing, dead[0]!.headers['dlq-sealed-headers']!, 'skeleton', dead[0]!.headers['dlq-sealed-kdf'])).toMatchObject({ ce_type: 'referral.detected.v1' });
    expect(dead[1]!.headers['dlq-reason']).toBe('INVALID_EVENT');
    // Every field at fault is named, not only the first.
    expect(JSON.parse(dead[1]!.headers['dlq-errors']!)).toEqual([
      expect.stringMatching(/^data\.facts\.location\.province: /),
      expect.stringMatching(/^data\.facts\.location\.district: /),
    ]);
    const sent = Buffer.from(intakeRecord(fiaIntake, invalid).value as string);
    expect(Buffer.compare(opened[1]!, sent)).toBe(0);
    expect(JSON.parse(opened[1]!.toString()).referralId).toBe(invalid.referralId);
    // Neither the value nor the headers hold the original, nor any person's value, in clear.
    expect(dead[1]!.value!.includes(sent)).toBe(false);
    const onTopic = `${dead[1]!.value!.toString('latin1')}${JSON.stringify(dead[1]!.headers)}`;
    for (const person of invalid.persons) for (const value of Object.values(person)) if (typeof value === 'string' && value.length > 3) expect(onTopic).not.toContain(value);
    // dlq-errors names the province at fault, not the value sent.
    expect(dead[1]!.headers['dlq-errors']).not.toContain('ATLANTIS');
    await expect(client.workflow.getHandle(`referral-${invalid.referralId}`).describe()).rejects.toThrow(/not found/i);
  });

  it('an intake naming another agency than its topic\'s starts nothing: dead-lettered ACTOR_MISMATCH and answered on the sender\'s topic', async () => {
    // Sent by NCCIA, in FIA's name; then a good one behind it on the same partition.
    const forged = detected({ sourceAgency: 'FIA' });
    const good = detected({ sourceAgency: 'NCCIA', facts: { caseType: 'FRAUDULENT_JOB_AD', location: { province: 'PUNJAB', district: 'Gujrat' } } });
    const ncciaIntake = intakeTopicOf(topics, 'NCCIA');
    const forgedRecord = { ...intakeRecord(ncciaIntake, forged, 'urn:agency:nccia'), key: good.referralId };
    await harness.produce([forgedRecord, intakeRecord(ncciaIntake, good, 'urn:agency:nccia')]);
    await eventually(() => notifications.filter((n) => n.key === good.referralId && n.headers['ce_type'] === 'referral.routed.v1'), (f) => f.length >= 1, 30_000, 'good referral routed');

    const dead = await eventually(() => deadLetters.filter((d) => d.headers['ce_id'] === forgedRecord.headers['ce_id']), (d) => d.length >= 1);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.headers).toMatchObject({ 'dlq-reason': 'ACTOR_MISMATCH', 'dlq-source-topic': ncciaIntake, 'dlq-sealed': 'skeleton' });
    expect(Buffer.compare(unseal(keyRing, dead[0]!.value!, 'skeleton'), Buffer.from(forgedRecord.value as string))).toBe(0);
    const answers = await eventually(() => notifications.filter((n) => n.headers['ce_id'] === `${forgedRecord.headers['ce_id']}/answer`), (a) => a.length >= 1);
    expect(answers.map((a) => a.topic)).toEqual([notifyTopicOf(topics, 'NCCIA')]);
    expect(answers[0]!.headers['ce_type']).toBe('referral.action.rejected.v1');
    expect(JSON.parse(answers[0]!.value!.toString())).toMatchObject({ referralId: forged.referralId, outcome: 'REJECTED', reason: { code: 'ACTOR_MISMATCH', field: 'data.sourceAgency' } });
    // The refusal is all that was said about the forged referral, and no workflow was started in FIA's name.
    expect(notifications.filter((n) => n.key === forged.referralId).map((n) => [n.topic, n.headers['ce_type']])).toEqual([[notifyTopicOf(topics, 'NCCIA'), 'referral.action.rejected.v1']]);
    await expect(client.workflow.getHandle(`referral-${forged.referralId}`).describe()).rejects.toThrow(/not found/i);
  });

  it('a bridge killed between consuming and committing loses no referral and starts none twice', async () => {
    await bridge?.stop();
    bridge = undefined;
    const referrals = Array.from({ length: 30 }, () => detected());
    const env = {
      ...process.env,
      ENGINE_ROLES: 'bridge',
      TEMPORAL_ADDRESS: temporalAddress,
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_INTAKE: topics.intake,
      KAFKA_TOPIC_ACTIONS: topics.actions,
      KAFKA_TOPIC_DEAD_LETTER: topics.deadLetter,
      KAFKA_TOPIC_EVENTS: topics.events,
      KAFKA_TOPIC_NOTIFY_PREFIX: topics.notifyPrefix,
      KAFKA_INTAKE_GROUP: groupId,
      KAFKA_ACTIONS_GROUP: `${run}-actions`,
      // Topics carry the run's prefix, which the ACL table does not name: every client is the admin principal.
      ...engineSecurityEnv('admin'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      LOG_LEVEL: 'warn',
      PAYLOAD_KEYS: `skeleton:${payloadKey.toString('base64')}`,
      PAYLOAD_KEYS_FILE: '',
      PAYLOAD_ACTIVE_KEY: '',
    };
    const spawnBridge = (): ChildProcess => spawn(process.execPath, ['--import', 'tsx', 'workers/engine.ts'], { cwd: repoRoot, env, stdio: 'ignore' });
    const countStarted = async () => {
      let n = 0;
      for (const r of referrals) {
        try {
          await client.workflow.getHandle(`referral-${r.referralId}`).describe();
          n++;
        } catch {
          /* not started yet */
        }
      }
      return n;
    };

    const first = spawnBridge();
    await new Promise((r) => setTimeout(r, 4_000));
    await harness.produce(referrals.map((r) => fromItsAgency(r)));
    // Kill it hard as soon as some, but not all, referrals have started: offsets of started ones may be uncommitted.
    await eventually(countStarted, (n) => n >= 3, 60_000, 'first referrals started');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const startedBeforeRestart = await countStarted();

    const second = spawnBridge();
    try {
      await eventually(countStarted, (n) => n === referrals.length, 90_000, 'all referrals started after restart');
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
    expect(startedBeforeRestart).toBeLessThanOrEqual(referrals.length);
    for (const r of referrals) {
      const runs = [];
      for await (const wf of client.workflow.list({ query: `WorkflowId = 'referral-${r.referralId}'` })) runs.push(wf);
      expect(runs, r.referralId).toHaveLength(1);
    }
    // Every referral was routed and notified exactly once per recipient (event ids are stable).
    await eventually(() => new Set(notifications.filter((n) => referrals.some((r) => r.referralId === n.key)).map((n) => n.key)).size, (n) => n === referrals.length, 60_000);
    const ids = notifications.filter((n) => referrals.some((r) => r.referralId === n.key)).map((n) => n.headers['ce_id']);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
