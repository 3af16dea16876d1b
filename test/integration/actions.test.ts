import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeyRing } from '../../codec/aes-gcm-codec.js';
import { unseal, unsealHeaders } from '../../codec/seal.js';
import { allNotifyTopics, loadKafkaAccess } from '../../config/kafka-access.js';
import { encodeCloudEvent } from '../../messaging/cloudevents.js';
import type { OutboundRecord } from '../../messaging/records.js';
import type { ReferralDetectedV1 } from '../../schemas/intake.js';
import { ActionAcceptedV1, ActionRejectedV1 } from '../../schemas/notifications.js';
import { justiceStateQuery, justiceWorkflowId, referralStateQuery } from '../../workflows/messages.js';
import { detected, uniqueId, workflowInput } from '../support/fixtures.js';
import { prefixedTopics, startTestEngine, type TestEngine } from '../support/engine-harness.js';
import { eventually, KafkaHarness, type ReadRecord } from '../support/kafka-harness.js';
import { actionsTopicOf, notifyTopicOf } from '../support/test-kafka.js';

const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const run = uniqueId('act');
const topics = prefixedTopics(run);
const notifyTopics = allNotifyTopics(loadKafkaAccess(), topics);
const taskQueue = `${run}-queue`;
const keyRing = new KeyRing('actions', { actions: randomBytes(32) });

/** A trafficking case across the border in Punjab: FIA leads; SWD supports; MOI is informed; NCCIA is no party. */
const lead = { actorId: 'fia-officer-7', agency: 'FIA', role: 'OFFICER' } as const;

/** The agency (or partner organisation) an actor speaks for: its actions go to that one's own topic. */
const senderCode = (actor: unknown): string => {
  const a = actor as { agency?: string; organisation?: string } | undefined;
  return a?.agency === 'PARTNER' ? a.organisation! : a?.agency ?? 'FIA';
};

/** An action as the actor's own agency sends it, on its own actions topic (unless `topic` says whose). */
function actionRecord(type: string, data: { referralId: string } & Record<string, unknown>, id = uniqueId('action'), source = 'urn:agency:test', topic = actionsTopicOf(topics, senderCode(data['actor']))): OutboundRecord {
  return encodeCloudEvent(topic, { id, source, type, subject: data.referralId, time: new Date().toISOString(), data });
}
const idOf = (r: OutboundRecord) => r.headers['ce_id']!;

describe('agency actions over Kafka through the real Temporal server and Kafka broker', () => {
  const harness = new KafkaHarness(brokers);
  let engine: TestEngine;
  let client: Client;
  let notifications: ReadRecord[];
  let deadLetters: ReadRecord[];

  /** The answers to one action, in the order the agency receives them. */
  const answersTo = (actionId: string) => notifications.filter((n) => n.headers['ce_type']?.startsWith('referral.action.') && JSON.parse(n.value!.toString()).actionId === actionId);
  const waitForAnswers = (actionId: string, count = 1) =>
    eventually(() => answersTo(actionId), (a) => a.length >= count, 60_000, `${count} answer(s) to ${actionId}`);
  const state = (referralId: string) => client.workflow.getHandle(`referral-${referralId}`).query(referralStateQuery);
  const acknowledged = async (referralId: string) => (await state(referralId)).timeline.filter((e) => e.action === 'ACKNOWLEDGED');

  /** Starts a referral and waits until its acknowledgement clock runs (routed, screening started). */
  const openReferral = async (overrides: Parameters<typeof detected>[0] = {}): Promise<ReferralDetectedV1> => {
    const referral = detected(overrides);
    await client.workflow.start('referralWorkflow', { workflowId: `referral-${referral.referralId}`, taskQueue, args: [workflowInput(referral)] });
    await eventually(
      () => state(referral.referralId),
      (s) => s.stage === 'SCREENING' && (s.sla ?? []).some((c) => c.step === 'acknowledge' && c.status === 'RUNNING'),
      30_000,
      `referral ${referral.referralId} waiting for acknowledgement`,
    );
    return referral;
  };

  beforeAll(async () => {
    await harness.createEngineTopics(topics);
    notifications = await harness.collect(notifyTopics);
    deadLetters = await harness.collect([topics.deadLetter]);
    engine = await startTestEngine({ temporalAddress, taskQueue, topics, keyRing, kafka: { brokers, run }, actionsBridge: true });
    client = engine.client;
  });

  afterAll(async () => {
    await engine?.stop();
    await harness.close();
  });

  it('an acknowledgement by the lead is applied once and answered "accepted" on the lead\'s topic', async () => {
    const referral = await openReferral();
    const action = actionRecord('referral.action.acknowledge.v1', { referralId: referral.referralId, actor: lead, reason: 'case officer assigned' });
    await harness.produce([action]);

    const [answer] = await waitForAnswers(idOf(action));
    expect(answer!.topic).toBe(`${topics.notifyPrefix}fia`);
    expect(answer!.key).toBe(referral.referralId);
    expect(answer!.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_type: 'referral.action.accepted.v1',
      ce_id: `${idOf(action)}/answer`,
      ce_subject: referral.referralId,
      ce_source: 'urn:referral-engine:test',
      'content-type': 'application/json',
    });
    expect(ActionAcceptedV1.parse(JSON.parse(answer!.value!.toString()))).toEqual({
      referralId: referral.referralId,
      actionId: idOf(action),
      action: 'referral.action.acknowledge.v1',
      outcome: 'ACCEPTED',
    });
    const entries = await acknowledged(referral.referralId);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: 'fia-officer-7', agency: 'FIA', reason: 'case officer assigned', track: 'referral' });
    expect((await state(referral.referralId)).sla?.find((c) => c.step === 'acknowledge')?.status).toBe('MET');
  });

  it('the same action delivered twice is applied once and answered "accepted" twice, with the same answer id', async () => {
    const referral = await openReferral();
    const action = actionRecord('referral.action.acknowledge.v1', { referralId: referral.referralId, actor: lead });
    await harness.produce([action, action]);

    const answers = await waitForAnswers(idOf(action), 2);
    // Let any further (wrong) answer or effect arrive before counting.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(answersTo(idOf(action))).toHaveLength(2);
    for (const a of answers) {
      expect(a.topic).toBe(`${topics.notifyPrefix}fia`);
      expect(a.headers['ce_type']).toBe('referral.action.accepted.v1');
      expect(a.headers['ce_id']).toBe(`${idOf(action)}/answer`);
      expect(JSON.parse(a.value!.toString())).toMatchObject({ outcome: 'ACCEPTED', actionId: idOf(action) });
    }
    expect(await acknowledged(referral.referralId)).toHaveLength(1);
  });

  it('an action by an agency that is not a party, on its own topic, is rejected NOT_A_PARTY on that agency\'s topic', async () => {
    const referral = await openReferral();
    const action = actionRecord('referral.action.extend-deadline.v1', {
      referralId: referral.referralId,
      actor: { actorId: 'nccia-sup-1', agency: 'NCCIA', role: 'SUPERVISOR' },
      step: 'acknowledge',
      by: { hours: 12 },
      reason: 'waiting for the case file',
    });
    await harness.produce([action]);

    const [answer] = await waitForAnswers(idOf(action));
    expect(answer!.topic).toBe(`${topics.notifyPrefix}nccia`);
    expect(answer!.headers['ce_type']).toBe('referral.action.rejected.v1');
    const data = ActionRejectedV1.parse(JSON.parse(answer!.value!.toString()));
    expect(data).toMatchObject({ referralId: referral.referralId, action: 'referral.action.extend-deadline.v1', outcome: 'REJECTED' });
    expect(data.reason).toEqual({ code: 'NOT_A_PARTY', message: 'actor.agency: NCCIA is not a party to this referral', field: 'data.actor.agency' });
    // Nothing moved: the clock has no extension.
    expect((await state(referral.referralId)).sla?.find((c) => c.step === 'acknowledge')?.extensions).toBe(0);
    expect(notifications.filter((n) => n.headers['ce_id'] === `${idOf(action)}/answer`)).toHaveLength(1);
  });

  it('an action for an unknown referral is rejected UNKNOWN_REFERRAL', async () => {
    const referralId = uniqueId('NOPE');
    const action = actionRecord('referral.action.acknowledge.v1', { referralId, actor: lead });
    await harness.produce([action]);

    const [answer] = await waitForAnswers(idOf(action));
    expect(answer!.topic).toBe(`${topics.notifyPrefix}fia`);
    expect(answer!.headers['ce_type']).toBe('referral.action.rejected.v1');
    expect(ActionRejectedV1.parse(JSON.parse(answer!.value!.toString()))).toEqual({
      referralId,
      actionId: idOf(action),
      action: 'referral.action.acknowledge.v1',
      outcome: 'REJECTED',
      reason: { code: 'UNKNOWN_REFERRAL', message: `referralId: there is no referral ${referralId}`, field: 'data.referralId' },
    });
  });

  it('acknowledging twice (two different actions) rejects the second with INVALID_TRANSITION and its message', async () => {
    const referral = await openReferral();
    const first = actionRecord('referral.action.acknowledge.v1', { referralId: referral.referralId, actor: lead });
    const second = actionRecord('referral.action.acknowledge.v1', { referralId: referral.referralId, actor: { ...lead, actorId: 'fia-officer-9' } });
    await harness.produce([first, second]);

    const [one] = await waitForAnswers(idOf(first));
    const [two] = await waitForAnswers(idOf(second));
    expect(one!.headers['ce_type']).toBe('referral.action.accepted.v1');
    expect(two!.headers['ce_type']).toBe('referral.action.rejected.v1');
    expect(two!.topic).toBe(`${topics.notifyPrefix}fia`);
    expect(ActionRejectedV1.parse(JSON.parse(two!.value!.toString())).reason).toEqual({
      code: 'INVALID_TRANSITION',
      message: 'the referral is already acknowledged',
    });
    const entries = await acknowledged(referral.referralId);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.actor).toBe('fia-officer-7');
  });

  it('poison actions between good ones are dead-lettered with their bytes; the good ones are applied', async () => {
    const a = await openReferral();
    const b = await openReferral();
    const key = a.referralId; // one key: one partition, so the good ones wait behind the poison ones
    const goodA = actionRecord('referral.action.acknowledge.v1', { referralId: a.referralId, actor: lead });
    const goodB = { ...actionRecord('referral.action.acknowledge.v1', { referralId: b.referralId, actor: lead }), key };
    const garbage = Buffer.from([0x7b, 0xff, 0x00, 0x42]);
    const fiaActions = actionsTopicOf(topics, 'FIA');
    const invalid = { ...actionRecord('referral.action.acknowledge.v1', { referralId: b.referralId, actor: { ...lead, role: 'CHIEF' } }), key };
    const unknownType = { ...actionRecord('referral.action.teleport.v1', { referralId: b.referralId, actor: lead }), key };
    await harness.produce([
      goodA,
      { topic: fiaActions, key, value: garbage, headers: { ce_specversion: '1.0', ce_id: 'garbage-1', ce_type: 'referral.action.acknowledge.v1' } },
      invalid,
      unknownType,
      goodB,
    ]);

    await waitForAnswers(idOf(goodB));
    const dead = await eventually(() => deadLetters.filter((d) => d.key === key), (d) => d.length >= 3, 30_000, 'dead letters');
    expect(dead).toHaveLength(3);
    // Sealed with the payload key, as the engine writes them: unsealed, the original bytes.
    for (const d of dead) expect(d.headers['dlq-sealed']).toBe('actions');
    const opened = dead.map((d) => unseal(keyRing, d.value!, d.headers['dlq-sealed']!));
    expect(Buffer.compare(opened[0]!, garbage)).toBe(0);
    expect(dead[0]!.value!.includes(garbage)).toBe(false);
    expect(dead[0]!.headers).toMatchObject({ 'dlq-reason': 'INVALID_CLOUDEVENT', 'dlq-source-topic': fiaActions, ce_id: 'garbage-1' });
    // The sender's headers are sealed with the value: only dlq-* and the message id stay readable.
    expect(dead[0]!.headers['ce_type']).toBeUndefined();
    expect(unsealHeaders(keyRing, dead[0]!.headers['dlq-sealed-headers']!, 'actions', dead[0]!.headers['dlq-sealed-kdf'])).toMatchObject({ ce_id: 'garbage-1', ce_type: 'referral.action.acknowledge.v1' });
    expect(JSON.parse(dead[0]!.headers['dlq-errors']!)[0]).toMatch(/^value: not valid JSON/);
    expect(dead[1]!.headers['dlq-reason']).toBe('INVALID_EVENT');
    expect(Buffer.compare(opened[1]!, Buffer.from(invalid.value as string))).toBe(0);
    expect(Buffer.compare(opened[2]!, Buffer.from(unknownType.value as string))).toBe(0);
    // dlq-errors names the field at fault, not the value sent.
    expect(dead[1]!.headers['dlq-errors']).not.toContain('CHIEF');
    expect(JSON.parse(dead[1]!.headers['dlq-errors']!)).toEqual([expect.stringMatching(/^data\.actor\.role: /)]);
    expect(dead[2]!.headers['dlq-reason']).toBe('UNKNOWN_EVENT_TYPE');
    expect(JSON.parse(dead[2]!.headers['dlq-errors']!)).toEqual([expect.stringMatching(/^type: /)]);

    // The good ones: applied once each, and accepted.
    expect(answersTo(idOf(goodA)).map((n) => n.headers['ce_type'])).toEqual(['referral.action.accepted.v1']);
    expect(answersTo(idOf(goodB)).map((n) => n.headers['ce_type'])).toEqual(['referral.action.accepted.v1']);
    expect(await acknowledged(a.referralId)).toHaveLength(1);
    expect(await acknowledged(b.referralId)).toHaveLength(1);

    // Every invalid one is answered VALIDATION on the sender's topic (the topic says who sent it), every field named;
    // the garbage, whose id cannot be read, under its place on the topic.
    expect(answersTo('garbage-1')).toHaveLength(0);
    const garbageId = `${fiaActions}/${dead[0]!.headers['dlq-source-partition']}/${dead[0]!.headers['dlq-source-offset']}`;
    const [garbled] = await waitForAnswers(garbageId);
    expect(answersTo(garbageId)).toHaveLength(1);
    expect(garbled!.topic).toBe(notifyTopicOf(topics, 'FIA'));
    expect(garbled!.headers['ce_id']).toBe(`${garbageId}/answer`);
    expect(ActionRejectedV1.parse(JSON.parse(garbled!.value!.toString())).reason).toMatchObject({ code: 'VALIDATION', field: 'value' });
    const [badRole] = answersTo(idOf(invalid));
    expect(badRole!.topic).toBe(`${topics.notifyPrefix}fia`);
    const rejected = ActionRejectedV1.parse(JSON.parse(badRole!.value!.toString()));
    expect(rejected).toMatchObject({ referralId: b.referralId, action: 'referral.action.acknowledge.v1', outcome: 'REJECTED' });
    expect(rejected.reason).toMatchObject({ code: 'VALIDATION', field: 'data.actor.role', errors: [expect.stringMatching(/^data\.actor\.role: /)] });
    const [unknown] = answersTo(idOf(unknownType));
    expect(unknown!.topic).toBe(notifyTopicOf(topics, 'FIA'));
    expect(ActionRejectedV1.parse(JSON.parse(unknown!.value!.toString())).reason).toMatchObject({ code: 'VALIDATION', field: 'type' });
  });

  it('an action naming another agency than its topic\'s is refused ACTOR_MISMATCH: dead-lettered, answered on the sender\'s topic, nothing applied', async () => {
    const referral = await openReferral();
    // NCCIA's integration acknowledges in the name of FIA's officer.
    const forged = actionRecord('referral.action.acknowledge.v1', { referralId: referral.referralId, actor: lead }, uniqueId('forged'), 'urn:agency:nccia', actionsTopicOf(topics, 'NCCIA'));
    await harness.produce([forged]);

    const [answer] = await waitForAnswers(idOf(forged));
    expect(answer!.topic).toBe(notifyTopicOf(topics, 'NCCIA'));
    expect(answer!.headers).toMatchObject({ ce_type: 'referral.action.rejected.v1', ce_id: `${idOf(forged)}/answer` });
    const data = ActionRejectedV1.parse(JSON.parse(answer!.value!.toString()));
    expect(data).toMatchObject({ referralId: referral.referralId, actionId: idOf(forged), action: 'referral.action.acknowledge.v1', outcome: 'REJECTED' });
    expect(data.reason).toMatchObject({ code: 'ACTOR_MISMATCH', field: 'data.actor.agency' });
    const dead = await eventually(() => deadLetters.filter((d) => d.headers['ce_id'] === idOf(forged)), (d) => d.length >= 1, 30_000, 'forged action dead-lettered');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.headers).toMatchObject({ 'dlq-reason': 'ACTOR_MISMATCH', 'dlq-source-topic': actionsTopicOf(topics, 'NCCIA'), 'dlq-sealed': 'actions' });
    expect(Buffer.compare(unseal(keyRing, dead[0]!.value!, 'actions'), Buffer.from(forged.value as string))).toBe(0);
    // Nothing was applied, and FIA heard nothing of it.
    expect(await acknowledged(referral.referralId)).toHaveLength(0);
    expect((await state(referral.referralId)).sla?.find((c) => c.step === 'acknowledge')?.status).toBe('RUNNING');
    expect(answersTo(idOf(forged))).toHaveLength(1);
  });

  it('an OPERATOR never acts over Kafka, even on its own agency\'s topic: refused ACTOR_MISMATCH on data.actor.role', async () => {
    const referral = await openReferral();
    const operator = actionRecord('referral.action.acknowledge.v1', { referralId: referral.referralId, actor: { actorId: 'fia-ops-1', agency: 'FIA', role: 'OPERATOR' } });
    await harness.produce([operator]);
    const [answer] = await waitForAnswers(idOf(operator));
    expect(answer!.topic).toBe(notifyTopicOf(topics, 'FIA'));
    expect(ActionRejectedV1.parse(JSON.parse(answer!.value!.toString())).reason).toMatchObject({ code: 'ACTOR_MISMATCH', field: 'data.actor.role' });
    const dead = await eventually(() => deadLetters.filter((d) => d.headers['ce_id'] === idOf(operator)), (d) => d.length >= 1, 30_000, 'operator action dead-lettered');
    expect(dead.map((d) => d.headers['dlq-reason'])).toEqual(['ACTOR_MISMATCH']);
    expect(await acknowledged(referral.referralId)).toHaveLength(0);
  });

  it('a justice action is rejected INVALID_TRANSITION before the track runs, and applied to referral-<id>-justice once it does', async () => {
    const referral = await openReferral();
    const { referralId } = referral;
    const early = actionRecord('referral.action.register-case.v1', { referralId, actor: lead, decision: 'REGISTERED', caseNumber: 'FIR-112/2026' });
    await harness.produce([early]);
    const [tooEarly] = await waitForAnswers(idOf(early));
    expect(ActionRejectedV1.parse(JSON.parse(tooEarly!.value!.toString())).reason).toMatchObject({
      code: 'INVALID_TRANSITION',
      message: expect.stringContaining('justice track of the referral has not started'),
    });

    const ack = actionRecord('referral.action.acknowledge.v1', { referralId, actor: lead });
    const screening = actionRecord('referral.action.complete-screening.v1', {
      referralId,
      actor: lead,
      outcome: 'CONFIRMED',
      victimIdentified: true,
      victimAtRisk: false,
      consent: 'GIVEN',
    });
    await harness.produce([ack, screening]);
    const [screened] = await waitForAnswers(idOf(screening));
    expect(screened!.headers['ce_type']).toBe('referral.action.accepted.v1');
    const justice = client.workflow.getHandle(justiceWorkflowId(referralId));
    await eventually(
      async () => justice.query(justiceStateQuery).catch(() => undefined),
      (s) => s?.stage === 'REGISTRATION',
      30_000,
      'justice track waiting for registration',
    );

    const register = actionRecord('referral.action.register-case.v1', { referralId, actor: lead, decision: 'REGISTERED', caseNumber: 'FIR-112/2026' });
    await harness.produce([register]);
    const [registered] = await waitForAnswers(idOf(register));
    expect(registered!.topic).toBe(`${topics.notifyPrefix}fia`);
    expect(registered!.headers['ce_type']).toBe('referral.action.accepted.v1');
    const justiceState = await justice.query(justiceStateQuery);
    expect(justiceState).toMatchObject({ stage: 'INVESTIGATION', caseNumber: 'FIR-112/2026' });
    expect(justiceState.timeline.filter((e) => e.action === 'REGISTERED')).toHaveLength(1);
  });

  it('an action on a closed referral is rejected REFERRAL_CLOSED; the action that closed it is still answered "accepted" when redelivered', async () => {
    const referral = await openReferral();
    const withdraw = actionRecord('referral.action.withdraw.v1', {
      referralId: referral.referralId,
      actor: { actorId: 'fia-sup-2', agency: 'FIA', role: 'SUPERVISOR' },
      reason: 'duplicate of an earlier referral',
    });
    await harness.produce([withdraw]);
    const [first] = await waitForAnswers(idOf(withdraw));
    expect(first!.headers['ce_type']).toBe('referral.action.accepted.v1');
    await eventually(async () => (await client.workflow.getHandle(`referral-${referral.referralId}`).describe()).status.name, (s) => s === 'COMPLETED', 30_000, 'referral closed');

    const late = actionRecord('referral.action.acknowledge.v1', { referralId: referral.referralId, actor: lead });
    await harness.produce([late, withdraw]);
    const [closed] = await waitForAnswers(idOf(late));
    expect(ActionRejectedV1.parse(JSON.parse(closed!.value!.toString())).reason).toMatchObject({ code: 'REFERRAL_CLOSED', field: 'data.referralId' });
    const again = await waitForAnswers(idOf(withdraw), 2);
    expect(again.map((a) => a.headers['ce_type'])).toEqual(['referral.action.accepted.v1', 'referral.action.accepted.v1']);
  });
});
