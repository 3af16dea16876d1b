/**
 * The acting agency is the topic's, and the broker says who may write each topic: the real engine
 * process, connected as its own principals (engine-intake, engine-actions, engine-publisher), on the
 * shipped topic names, with agencies connected as theirs (User:fia, User:nccia). One agency cannot
 * act for another, either by naming it in the message or by writing to its topic.
 */
import { Client, Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeyRing } from '../../codec/aes-gcm-codec.js';
import { createDataConverter } from '../../codec/data-converter.js';
import type { Topics } from '../../config/env.js';
import { encodeCloudEvent } from '../../messaging/cloudevents.js';
import type { OutboundRecord } from '../../messaging/records.js';
import { intakeRecord } from '../../scripts/intake-event.js';
import { ActionRejectedV1 } from '../../schemas/notifications.js';
import { referralStateQuery } from '../../workflows/messages.js';
import { shippedTopics, shippedTopicsEnv, startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { detected, uniqueId } from '../support/fixtures.js';
import { eventually, KafkaHarness, type ReadRecord } from '../support/kafka-harness.js';
import { actionsTopicOf, intakeTopicOf, kafkajsAuth, notifyTopicOf } from '../support/test-kafka.js';

const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const run = uniqueId('imp');
const topics: Topics = shippedTopics;
const keyBase64 = randomBytes(32).toString('base64');
const keyRing = new KeyRing('imp', { imp: Buffer.from(keyBase64, 'base64') });

/** Produces as one principal, as that agency's own integration would. */
async function produceAs(principal: string, records: OutboundRecord[]): Promise<void> {
  const kafka = new Kafka({ clientId: `${principal}-integration`, brokers: brokers.split(','), logLevel: logLevel.NOTHING, ...kafkajsAuth(principal) });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (const r of records) await producer.send({ topic: r.topic, messages: [{ key: r.key, value: r.value, headers: r.headers }] });
  } finally {
    await producer.disconnect();
  }
}

const action = (topic: string, type: string, data: Record<string, unknown> & { referralId: string }, id = uniqueId('act')) =>
  encodeCloudEvent(topic, { id, source: `urn:agency:${run}`, type, subject: data.referralId, time: new Date().toISOString(), data });

describe('impersonation over Kafka, with the broker authenticating every client', () => {
  // Reading is not what this file proves: the observer is the admin principal.
  const observer = new KafkaHarness(brokers);
  let engine: EngineProcess;
  let client: Client;
  let connection: Connection;
  let seen: ReadRecord[];
  const on = (topic: string, actionId: string) => seen.filter((r) => r.topic === topic && r.headers['ce_id'] === `${actionId}/answer`);
  const deadLetter = (actionId: string) => seen.filter((r) => r.topic === topics.deadLetter && r.headers['ce_id'] === actionId);
  const state = (referralId: string) => client.workflow.getHandle(`referral-${referralId}`).query(referralStateQuery);
  const historyLength = async (referralId: string) => ((await client.workflow.getHandle(`referral-${referralId}`).fetchHistory()).events ?? []).length;

  beforeAll(async () => {
    seen = await observer.collect([notifyTopicOf(topics, 'FIA'), notifyTopicOf(topics, 'NCCIA'), topics.deadLetter]);
    engine = await startEngineProcess({
      run,
      temporalAddress,
      brokers,
      env: {
        ENGINE_ROLES: 'worker,bridge',
        ...shippedTopicsEnv(),
        // The engine's own principals, each allowed only what its part needs.
        KAFKA_INTAKE_USERNAME: 'engine-intake',
        KAFKA_ACTIONS_USERNAME: 'engine-actions',
        KAFKA_PUBLISHER_USERNAME: 'engine-publisher',
        PAYLOAD_KEYS: `imp:${keyBase64}`,
        WORKER_METRICS_ADDRESS: '0',
        CODEC_SERVER_PORT: '0',
      },
    });
    connection = await Connection.connect({ address: temporalAddress });
    client = new Client({ connection, dataConverter: createDataConverter(keyRing) });
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
    await connection?.close();
    await observer.close();
  });

  it('FIA opens a referral on its own intake topic; NCCIA cannot open one in FIA\'s name', async () => {
    const referral = detected({ sourceAgency: 'FIA' });
    await produceAs('fia', [intakeRecord(intakeTopicOf(topics, 'FIA'), referral, 'urn:agency:fia')]);
    await eventually(() => state(referral.referralId).catch(() => undefined), (s) => s?.stage === 'SCREENING', 60_000, 'FIA\'s referral routed');

    const forged = detected({ sourceAgency: 'FIA' });
    const record = intakeRecord(intakeTopicOf(topics, 'NCCIA'), forged, 'urn:agency:nccia');
    const id = record.headers['ce_id']!;
    await produceAs('nccia', [record]);
    const [answer] = await eventually(() => on(notifyTopicOf(topics, 'NCCIA'), id), (a) => a.length === 1, 60_000, 'NCCIA told of the refusal');
    expect(ActionRejectedV1.parse(JSON.parse(answer!.value!.toString()))).toMatchObject({ referralId: forged.referralId, outcome: 'REJECTED', reason: { code: 'ACTOR_MISMATCH', field: 'data.sourceAgency' } });
    await eventually(() => deadLetter(id), (d) => d.length === 1, 30_000, 'the forged intake dead-lettered');
    expect(deadLetter(id)[0]!.headers).toMatchObject({ 'dlq-reason': 'ACTOR_MISMATCH', 'dlq-source-topic': intakeTopicOf(topics, 'NCCIA') });
    await expect(client.workflow.getHandle(`referral-${forged.referralId}`).describe()).rejects.toThrow(/not found/i);
    expect(on(notifyTopicOf(topics, 'FIA'), id)).toHaveLength(0);
  });

  it('NCCIA acting as FIA on its own topic is refused ACTOR_MISMATCH: nothing reaches the workflow, FIA hears nothing', async () => {
    const referral = detected({ sourceAgency: 'FIA' });
    await produceAs('fia', [intakeRecord(intakeTopicOf(topics, 'FIA'), referral, 'urn:agency:fia')]);
    await eventually(() => state(referral.referralId).catch(() => undefined), (s) => (s?.sla ?? []).some((c) => c.step === 'acknowledge' && c.status === 'RUNNING'), 60_000, 'waiting for FIA');
    const before = await historyLength(referral.referralId);

    const forged = action(actionsTopicOf(topics, 'NCCIA'), 'referral.action.acknowledge.v1', {
      referralId: referral.referralId,
      actor: { actorId: 'fia-officer-7', agency: 'FIA', role: 'OFFICER' },
    });
    const id = forged.headers['ce_id']!;
    await produceAs('nccia', [forged]);
    const [answer] = await eventually(() => on(notifyTopicOf(topics, 'NCCIA'), id), (a) => a.length === 1, 60_000, 'NCCIA answered');
    expect(JSON.parse(answer!.value!.toString())).toMatchObject({ outcome: 'REJECTED', reason: { code: 'ACTOR_MISMATCH', field: 'data.actor.agency' } });
    await eventually(() => deadLetter(id), (d) => d.length === 1, 30_000, 'the forged action dead-lettered');
    expect(await historyLength(referral.referralId)).toBe(before);
    expect((await state(referral.referralId)).timeline.filter((e) => e.action === 'ACKNOWLEDGED')).toHaveLength(0);
    expect(on(notifyTopicOf(topics, 'FIA'), id)).toHaveLength(0);

    // Writing to FIA's topic instead is refused by the broker itself.
    const intoFia = action(actionsTopicOf(topics, 'FIA'), 'referral.action.acknowledge.v1', { referralId: referral.referralId, actor: { actorId: 'x', agency: 'FIA', role: 'OFFICER' } });
    await expect(produceAs('nccia', [intoFia])).rejects.toThrow(/not authorized|authorization/i);

    // A role that crosses agencies never arrives over Kafka, even from the right topic.
    const asOperator = action(actionsTopicOf(topics, 'FIA'), 'referral.action.acknowledge.v1', { referralId: referral.referralId, actor: { actorId: 'fia-op', agency: 'FIA', role: 'OPERATOR' } });
    await produceAs('fia', [asOperator]);
    const [refused] = await eventually(() => on(notifyTopicOf(topics, 'FIA'), asOperator.headers['ce_id']!), (a) => a.length === 1, 60_000, 'FIA answered');
    expect(JSON.parse(refused!.value!.toString())).toMatchObject({ outcome: 'REJECTED', reason: { code: 'ACTOR_MISMATCH', field: 'data.actor.role' } });
    expect(await historyLength(referral.referralId)).toBe(before);

    // FIA's own officer, on FIA's own topic: applied, and the audit trail says whose assertion it is.
    const own = action(actionsTopicOf(topics, 'FIA'), 'referral.action.acknowledge.v1', { referralId: referral.referralId, actor: { actorId: 'fia-officer-7', agency: 'FIA', role: 'OFFICER' }, reason: 'officer assigned' });
    await produceAs('fia', [own]);
    const [accepted] = await eventually(() => on(notifyTopicOf(topics, 'FIA'), own.headers['ce_id']!), (a) => a.length === 1, 60_000, 'FIA accepted');
    expect(JSON.parse(accepted!.value!.toString())).toMatchObject({ outcome: 'ACCEPTED' });
    const acks = (await state(referral.referralId)).timeline.filter((e) => e.action === 'ACKNOWLEDGED');
    expect(acks).toHaveLength(1);
    expect(acks[0]).toMatchObject({ actor: 'fia-officer-7', agency: 'FIA', assertedBy: 'FIA' });
  });
});
