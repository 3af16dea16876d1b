/**
 * Need to know, end to end: referrals with distinctive personal data go through intake and a
 * run of agency actions (acknowledge, screening, justice and protection steps, a rejected
 * action, a re-classification) and an SLA breach escalated up the ladder, and invalid intake
 * messages full of personal data are dead-lettered; then EVERY topic on the broker is read from
 * the beginning, and no value of any person's field may appear in any record's key, value or
 * headers, except on the intake topics the detecting agencies wrote them to. The dead-letter topic
 * is not exempt: its values are sealed with the payload key, its headers quote no value.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { senderDirectory } from '../../bridge/senders.js';
import { KeyRing } from '../../codec/aes-gcm-codec.js';
import { allNotifyTopics, loadKafkaAccess } from '../../config/kafka-access.js';
import { unseal } from '../../codec/seal.js';
import { encodeCloudEvent } from '../../messaging/cloudevents.js';
import { intakeRecord } from '../../scripts/intake-event.js';
import type { Person, ReferralDetectedV1 } from '../../schemas/intake.js';
import type { Policy } from '../../schemas/policy.js';
import { justiceStateQuery, justiceWorkflowId, protectionStateQuery, protectionWorkflowId, referralStateQuery } from '../../workflows/messages.js';
import { detected, shippedPolicy, uniqueId } from '../support/fixtures.js';
import { prefixedTopics, startTestEngine, type TestEngine } from '../support/engine-harness.js';
import { eventually, KafkaHarness, type ReadRecord } from '../support/kafka-harness.js';
import { readTopics } from '../support/topic-reader.js';
import { actionsTopicOf, engineTopicList, intakeTopicOf, kafkajsAuth, notifyTopicOf } from '../support/test-kafka.js';

const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const run = uniqueId('ntk');
const topics = prefixedTopics(run);
const access = loadKafkaAccess();
const notifyTopics = allNotifyTopics(access, topics);
const senders = senderDirectory(access, topics);
/** Per-sender topics: every agency writes its intakes and actions to its own. */
const intakeTopics = new Set(senders.intakeTopics);
const actionsTopics = new Set(senders.actionsTopics);
const taskQueue = `${run}-queue`;
const keyRing = new KeyRing('ntk', { ntk: randomBytes(32) });

/** In every person's value: any record holding it carries that person's data. */
const token = `q${randomBytes(5).toString('hex')}`;
const digits = () => String(randomInt(1_000_000, 9_999_999));

const victimA: Person = {
  role: 'VICTIM',
  name: `Gulnaz Tarkhanova ${token}`,
  age: 22,
  gender: 'F',
  nationality: `Uzbek national ${token}`,
  contact: `+92-301-${digits()} / gulnaz.${token}@example.invalid`,
  location: `House 17-B, Gali ${token}, Shadbagh, Lahore`,
  health: `Fractured wrist and malnutrition ${token}`,
  documents: [`Passport FA${digits()}`, `CNIC 35202-${digits()}-4`],
};
const suspectA: Person = {
  role: 'SUSPECT',
  name: `Rashid Durrani ${token}`,
  contact: `+971-50-${digits()}`,
  location: `Flat 9, Al Qusais ${token}, Dubai`,
};
const complainantB: Person = {
  role: 'COMPLAINANT',
  name: `Sadia Parveen ${token}`,
  contact: `sadia.${token}@mail.example.invalid`,
  location: `Mohallah Shah Jamal ${token}, Gujrat`,
  health: `Panic attacks since the interview ${token}`,
};
const witnessC: Person = {
  role: 'WITNESS',
  name: `Imran Yousafzai ${token}`,
  contact: `+92-345-${digits()}`,
  location: `Shop 4, Hashtnagri ${token}, Peshawar`,
};

/** In an invalid referral: her name put where the role goes (zod quotes a bad enum value it received). */
const victimD = {
  role: `Kiran Bibi ${token}` as Person['role'],
  name: `Kiran Bibi ${token}`,
  contact: `+92-321-${digits()}`,
  location: `Mohallah Islampura ${token}, Sialkot`,
  health: `Burns on both forearms ${token}`,
} satisfies Person;
/** An intake message that is not even JSON: a bare name (V8's JSON error quotes a short text whole). */
const bareName = `Noor ${token}`;

/** Every string the persons hold (4 characters or more), and the run's token itself. */
const personalValues = [
  ...[victimA, suspectA, complainantB, witnessC, victimD]
    .flatMap((p) => Object.values(p).flatMap((v) => (Array.isArray(v) ? v : [v])))
    .filter((v): v is string => typeof v === 'string' && v.length >= 4 && !['VICTIM', 'SUSPECT', 'WITNESS', 'COMPLAINANT'].includes(v)),
  bareName,
];

/** The acknowledge clock of an urgent referral runs 4 s here, so its ladder (reminder … national committee) fires within the test. */
function policyWithFastUrgentAcknowledge(): Policy {
  const policy = shippedPolicy();
  return { ...policy, sla: { ...policy.sla, acknowledge: { deadline: { hours: 24 }, urgentDeadline: { hours: 4 / 3600 } } } };
}

const fia = { actorId: 'fia-officer-21', agency: 'FIA', role: 'OFFICER' } as const;
const swd = { actorId: 'swd-officer-4', agency: 'SWD', role: 'OFFICER' } as const;

describe('need to know: no personal data on any topic', () => {
  const harness = new KafkaHarness(brokers);
  let engine: TestEngine;
  let client: Client;
  let notifications: ReadRecord[];

  const answersTo = (actionId: string) => notifications.filter((n) => n.headers['ce_id'] === `${actionId}/answer`);
  /** Sends an action as an agency (or partner organisation) would, on its own topic, and waits for its answer; returns the answer's type. */
  const act = async (type: string, data: { referralId: string; actor: { actorId: string; agency: string; role: string; organisation?: string } } & Record<string, unknown>): Promise<string> => {
    const id = uniqueId('ntk-action');
    const topic = actionsTopicOf(topics, data.actor.agency === 'PARTNER' ? data.actor.organisation! : data.actor.agency);
    await harness.produce([encodeCloudEvent(topic, { id, source: 'urn:agency:test', type, subject: data.referralId, time: new Date().toISOString(), data })]);
    const [answer] = await eventually(() => answersTo(id), (a) => a.length > 0, 60_000, `answer to ${type}`);
    return answer!.headers['ce_type']!;
  };

  beforeAll(async () => {
    await harness.createEngineTopics(topics);
    engine = await startTestEngine({
      temporalAddress,
      taskQueue,
      topics,
      keyRing,
      kafka: { brokers, run },
      intakeBridge: { policy: policyWithFastUrgentAcknowledge() },
      actionsBridge: true,
    });
    client = engine.client;
    notifications = await harness.collect(notifyTopics);
  });

  afterAll(async () => {
    await engine?.stop();
    await harness.close();
  });

  it('referrals with personal data go through intake, actions and an SLA escalation; no topic but intake holds any of it', async () => {
    // A: cross-border trafficking (FIA leads, SWD supports, MOI informed), through both tracks.
    const a: ReferralDetectedV1 = detected({ persons: [victimA, suspectA] });
    // B: a job-ad case with a victim at risk: urgent, its 4 s acknowledge clock is left to breach and escalate.
    const b: ReferralDetectedV1 = detected({
      sourceAgency: 'NCCIA',
      persons: [complainantB],
      facts: {
        caseType: 'FRAUDULENT_JOB_AD',
        location: { province: 'PUNJAB', district: 'Gujrat' },
        flags: { minor: false, victimAbroad: false, victimAtRisk: true, organisedNetwork: false, crossBorder: false },
        online: { platform: 'social-media', url: 'https://example.invalid/jobs/4411' },
      },
    });
    // C: case type unknown: unrouted to the district committee, which classifies it.
    const c: ReferralDetectedV1 = detected({ persons: [witnessC], facts: { caseType: 'UNKNOWN', location: { province: 'KHYBER_PAKHTUNKHWA', district: 'Peshawar' } } });
    // D: invalid (a name where the role goes, a province that does not exist); E: not JSON at all. Both are dead-lettered.
    const d: ReferralDetectedV1 = detected({ persons: [victimD], facts: { location: { province: 'ATLANTIS' as never, district: 'Sialkot' } } });
    const e = { topic: intakeTopicOf(topics, 'FIA'), key: uniqueId('REF'), value: bareName, headers: { ce_specversion: '1.0', ce_id: uniqueId('ntk-bare'), ce_source: 'urn:agency:fia', ce_type: 'referral.detected.v1', 'content-type': 'application/json' } };
    const invalid = [intakeRecord(intakeTopicOf(topics, d.sourceAgency), d, 'urn:agency:fia'), e];
    const deadLetters = await harness.collect([topics.deadLetter]);
    await harness.produce([...[a, b, c].map((r) => intakeRecord(intakeTopicOf(topics, r.sourceAgency), r, `urn:agency:${r.sourceAgency.toLowerCase()}`)), ...invalid]);

    const referralState = (id: string) => client.workflow.getHandle(`referral-${id}`).query(referralStateQuery);
    await eventually(() => referralState(a.referralId).catch(() => undefined), (s) => s?.stage === 'SCREENING', 60_000, 'A waiting for acknowledgement');

    // A: the lead acknowledges and screens; both tracks start.
    expect(await act('referral.action.acknowledge.v1', { referralId: a.referralId, actor: fia, reason: 'officer assigned' })).toBe('referral.action.accepted.v1');
    expect(
      await act('referral.action.complete-screening.v1', {
        referralId: a.referralId,
        actor: fia,
        outcome: 'CONFIRMED',
        victimIdentified: true,
        victimAtRisk: true,
        consent: 'GIVEN',
        reason: 'indicators of forced labour confirmed at interview',
      }),
    ).toBe('referral.action.accepted.v1');
    // An agency that is no party is refused, on its own topic.
    expect(await act('referral.action.acknowledge.v1', { referralId: a.referralId, actor: { actorId: 'nccia-1', agency: 'NCCIA', role: 'OFFICER' } })).toBe(
      'referral.action.rejected.v1',
    );
    const justice = client.workflow.getHandle(justiceWorkflowId(a.referralId));
    const protection = client.workflow.getHandle(protectionWorkflowId(a.referralId));
    await eventually(() => justice.query(justiceStateQuery).catch(() => undefined), (s) => s?.stage === 'REGISTRATION', 30_000, 'justice track of A');
    await eventually(() => protection.query(protectionStateQuery).catch(() => undefined), (s) => s?.stage === 'IMMEDIATE_PROTECTION', 30_000, 'protection track of A');

    // Justice and protection steps of A.
    expect(await act('referral.action.register-case.v1', { referralId: a.referralId, actor: fia, decision: 'REGISTERED', caseNumber: 'FIR-77/2026' })).toBe('referral.action.accepted.v1');
    expect(await act('referral.action.investigation-report.v1', { referralId: a.referralId, actor: fia, kind: 'INTERIM' })).toBe('referral.action.accepted.v1');
    expect(await act('referral.action.protection-placement.v1', { referralId: a.referralId, actor: swd, placement: 'SHELTER' })).toBe('referral.action.accepted.v1');
    expect(
      await act('referral.action.reintegration-plan.v1', {
        referralId: a.referralId,
        actor: swd,
        partner: 'IOM',
        tasks: [
          { taskId: 'T1', kind: 'MEDICAL', partner: 'IOM' },
          { taskId: 'T2', kind: 'LIVELIHOOD', partner: 'SSDO' },
        ],
      }),
    ).toBe('referral.action.accepted.v1');
    expect(
      await act('referral.action.complete-task.v1', {
        referralId: a.referralId,
        actor: { actorId: 'iom-case-9', agency: 'PARTNER', role: 'PARTNER', organisation: 'IOM' },
        taskId: 'T1',
        outcome: 'DONE',
        notes: 'treatment completed at the partner clinic',
      }),
    ).toBe('referral.action.accepted.v1');

    // C: the national committee classifies it (over Kafka: the district committees share one broker
    // login, so none of them is a party by it); it is routed.
    await eventually(() => referralState(c.referralId).catch(() => undefined), (s) => s?.stage === 'UNROUTED', 30_000, 'C unrouted');
    expect(
      await act('referral.action.reclassify.v1', {
        referralId: c.referralId,
        actor: { actorId: 'ahtc-n-sec-1', agency: 'AHTC-N', role: 'SUPERVISOR' },
        caseType: 'SMUGGLING',
        reason: 'irregular crossing arranged for payment',
      }),
    ).toBe('referral.action.accepted.v1');

    // B: the breach climbs the ladder to the national committee and the ministries; then NCCIA acknowledges.
    const sla = await eventually(
      () => notifications.filter((n) => n.key === b.referralId && n.headers['ce_type'] === 'referral.sla.v1').map((n) => JSON.parse(n.value!.toString()) as { kind: string; rung: string; recipient: string }),
      (found) => found.some((d) => d.rung === 'national-committee'),
      60_000,
      'SLA escalation of B to the national committee',
    );
    expect(sla.map((d) => d.kind)).toEqual(expect.arrayContaining(['REMINDER', 'BREACH', 'ESCALATION']));
    expect(await act('referral.action.acknowledge.v1', { referralId: b.referralId, actor: { actorId: 'nccia-2', agency: 'NCCIA', role: 'OFFICER' } })).toBe('referral.action.accepted.v1');

    // The last steps' events are on the broker before reading.
    await eventually(
      () => notifications.filter((n) => n.key === c.referralId && n.headers['ce_type'] === 'referral.routed.v1'),
      (found) => found.length > 0,
      30_000,
      'C routed after re-classification',
    );
    await eventually(
      () => notifications.filter((n) => n.key === a.referralId && n.headers['ce_type'] === 'referral.stage.v1' && n.value!.toString().includes('PARTNER_TASK_COMPLETED')),
      (found) => found.length > 0,
      30_000,
      'stage event of the completed task',
    );

    // The invalid ones are on the dead-letter topic, sealed: with the payload key, their original bytes.
    const dead = await eventually(() => deadLetters.filter((r) => r.key === d.referralId || r.key === e.key), (found) => found.length >= 2, 30_000, 'the invalid intakes dead-lettered');
    expect(dead.map((r) => r.headers['dlq-reason']).sort()).toEqual(['INVALID_CLOUDEVENT', 'INVALID_EVENT']);
    for (const [i, sent] of invalid.entries()) {
      const letter = dead.find((r) => r.key === sent.key)!;
      expect(letter.headers['dlq-sealed']).toBe('ntk');
      expect(Buffer.compare(unseal(keyRing, letter.value!, 'ntk'), Buffer.from(sent.value as string)), `dead letter ${i}`).toBe(0);
    }

    // Read every topic on the broker, internal ones included, from the beginning.
    const kafka = new Kafka({ clientId: `${run}-scan`, brokers: [brokers], logLevel: logLevel.NOTHING, ...kafkajsAuth() });
    const admin = kafka.admin();
    await admin.connect();
    const allTopics = await admin.listTopics();
    await admin.disconnect();
    expect(allTopics).toEqual(expect.arrayContaining(engineTopicList(topics)));
    const records = await readTopics(brokers, allTopics, 90_000);

    const text = (r: ReadRecord) => [r.key ?? '', r.value?.toString('utf8') ?? '', ...Object.entries(r.headers).flat()].join('\n').toLowerCase();
    // The scan sees personal data where it is by design: what the detecting agency sent.
    const sent = records.filter((r) => intakeTopics.has(r.topic)).map(text).join('\n');
    for (const value of personalValues) expect(sent, 'intake topic holds the sent persons').toContain(value.toLowerCase());

    const leaks: string[] = [];
    for (const r of records) {
      if (intakeTopics.has(r.topic)) continue;
      const haystack = text(r);
      for (const value of [...personalValues, token]) {
        if (haystack.includes(value.toLowerCase())) leaks.push(`${r.topic}/${r.partition}@${r.offset} (${r.headers['ce_type'] ?? 'no ce_type'}) holds "${value}"`);
      }
    }
    expect(leaks).toEqual([]);

    // And the scan covered what the engine wrote about these referrals: every kind of notification, the operators' stream, the actions.
    const ours = new Set([a.referralId, b.referralId, c.referralId]);
    const outbound = records.filter((r) => r.key !== null && ours.has(r.key) && !intakeTopics.has(r.topic) && !actionsTopics.has(r.topic));
    // No referral.unrouted.v1: it is for the district committee, told only on its own
    // jurisdiction's topic where the broker has one (not here), never on the committees' shared one.
    expect(new Set(outbound.map((r) => r.headers['ce_type']))).toEqual(
      new Set(['referral.routed.v1', 'referral.sla.v1', 'referral.stage.v1', 'referral.action.accepted.v1', 'referral.action.rejected.v1']),
    );
    expect(outbound.filter((r) => r.topic === notifyTopicOf(topics, 'AHTC-D') || r.topic === notifyTopicOf(topics, 'AHTC-P'))).toEqual([]);
    expect(outbound.some((r) => r.topic === topics.events)).toBe(true);
    // The partner organisations of the plan heard on their own topics.
    expect(outbound.some((r) => r.topic === notifyTopicOf(topics, 'IOM'))).toBe(true);
    expect(outbound.some((r) => r.topic === notifyTopicOf(topics, 'SSDO'))).toBe(true);
    expect(records.filter((r) => actionsTopics.has(r.topic))).toHaveLength(10);
    // The dead letters were scanned like every other record.
    expect(records.filter((r) => r.topic === topics.deadLetter).map((r) => r.key).sort()).toEqual([d.referralId, e.key].sort());
    expect(allTopics.length).toBeGreaterThanOrEqual(engineTopicList(topics).length);
  });
});
