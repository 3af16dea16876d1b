/**
 * Interoperability with the official CloudEvents SDK for JavaScript (`cloudevents`, Kafka
 * protocol binding): what the engine writes, the SDK reads as the same event; what the SDK
 * writes (binary and structured mode), the engine accepts as intake and action events.
 */
import { CloudEvent, Kafka, type KafkaMessage } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { decodeCloudEvent, encodeCloudEvent } from '../../messaging/cloudevents.js';
import type { InboundRecord, OutboundRecord } from '../../messaging/records.js';
import { ActionEvent, resolveAction } from '../../schemas/actions.js';
import { IntakeEvent } from '../../schemas/cloudevents.js';
import { ReferralDetectedV1 } from '../../schemas/intake.js';
import { ActionAcceptedV1, ReferralRoutedV1 } from '../../schemas/notifications.js';

const referralId = 'FJA-2026-0042';

/** A routed notification as referralWorkflow builds it for the lead agency. */
const routed: ReferralRoutedV1 = ReferralRoutedV1.parse({
  referralId,
  caseType: 'FRAUDULENT_JOB_AD',
  stage: 'ROUTED',
  province: 'PUNJAB',
  district: 'Gujrat',
  priority: 'HIGH',
  recipient: 'NCCIA',
  role: 'LEAD',
  lead: 'NCCIA',
  ruleId: 'fja',
  actionRequired: 'acknowledge the referral and take the lead',
  policyVersion: '2026.11-1',
});

const detected = {
  referralId,
  sourceAgency: 'NCCIA',
  detectedAt: '2026-11-24T09:00:00.000Z',
  facts: {
    caseType: 'FRAUDULENT_JOB_AD',
    location: { province: 'PUNJAB', district: 'Gujrat' },
    flags: { organisedNetwork: true },
    online: { platform: 'social-media', url: 'https://example.invalid/ad/123' },
  },
  persons: [],
};

const BINARY_HEADERS = ['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'ce_subject', 'ce_time', 'content-type'];

/** The record as a Kafka consumer receives it: bytes for key and value, string headers. */
function received(record: OutboundRecord): KafkaMessage<Buffer> {
  const value = Buffer.from(record.value as string, 'utf8');
  return { key: record.key!, value, body: value, headers: { ...record.headers } };
}

/**
 * What an agency puts on Kafka from an SDK message: the SDK leaves a JSON data object as is,
 * so, as with any Kafka client, it is serialised to JSON; header values are strings.
 */
function sentBySdk(message: KafkaMessage<unknown>, topic: string): InboundRecord {
  const { value } = message;
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
  const headers = Object.fromEntries(Object.entries(message.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])));
  return { topic, partition: 0, offset: '0', key: message.key === undefined ? null : Buffer.from(message.key), value: bytes, headers };
}

describe('engine → official SDK', () => {
  it('a referral.routed.v1 record decodes with Kafka.toEvent to the same id, type, source, subject, time and data', () => {
    const record = encodeCloudEvent('referrals.notify.nccia', {
      id: `referral-${referralId}/routed.2/NCCIA`,
      source: 'referral-engine/default',
      type: 'referral.routed.v1',
      subject: referralId,
      time: '2026-11-24T09:00:03.125Z',
      data: routed,
    });
    // Binary mode: the ce_ headers and content-type, nothing else.
    expect(Object.keys(record.headers).sort()).toEqual([...BINARY_HEADERS].sort());

    const message = received(record);
    expect(Kafka.isEvent(message)).toBe(true);
    const event = Kafka.toEvent(message);
    expect(Array.isArray(event)).toBe(false);
    const ce = event as CloudEvent<ReferralRoutedV1>;
    expect(ce).toBeInstanceOf(CloudEvent);
    // The SDK's own validation of a CloudEvent 1.0 (throws if invalid).
    expect(ce.validate()).toBe(true);
    expect({ specversion: ce.specversion, id: ce.id, type: ce.type, source: ce.source, subject: ce.subject, time: ce.time, datacontenttype: ce.datacontenttype }).toEqual({
      specversion: '1.0',
      id: `referral-${referralId}/routed.2/NCCIA`,
      type: 'referral.routed.v1',
      source: 'referral-engine/default',
      subject: referralId,
      time: '2026-11-24T09:00:03.125Z',
      datacontenttype: 'application/json',
    });
    expect(ce.data).toEqual(routed);
    // The Kafka key is the referral id (the SDK's partitionkey).
    expect(String(ce['partitionkey'])).toBe(referralId);
    // No header became an unexpected extension attribute.
    const attributes = Object.entries(ce.toJSON()).filter(([, v]) => v !== undefined).map(([k]) => k);
    expect(attributes.sort()).toEqual(['data', 'datacontenttype', 'id', 'partitionkey', 'source', 'specversion', 'subject', 'time', 'type']);
  });

  it('an answer to an action decodes as well', () => {
    const data: ActionAcceptedV1 = { referralId, actionId: 'nccia-ack-0001', action: 'referral.action.acknowledge.v1', outcome: 'ACCEPTED' };
    const record = encodeCloudEvent('referrals.notify.nccia', {
      id: 'nccia-ack-0001/answer',
      source: 'referral-engine/default',
      type: 'referral.action.accepted.v1',
      subject: referralId,
      time: '2026-11-24T10:00:00.000Z',
      data,
    });
    const ce = Kafka.toEvent(received(record)) as CloudEvent<ActionAcceptedV1>;
    expect(ce.validate()).toBe(true);
    expect([ce.id, ce.type, ce.subject]).toEqual(['nccia-ack-0001/answer', 'referral.action.accepted.v1', referralId]);
    expect(ActionAcceptedV1.parse(ce.data)).toEqual(data);
  });
});

describe('official SDK → engine', () => {
  const intakeEvent = () =>
    new CloudEvent({
      specversion: '1.0',
      id: 'nccia-0042',
      source: 'urn:agency:nccia',
      type: 'referral.detected.v1',
      subject: referralId,
      datacontenttype: 'application/json',
      data: detected,
      partitionkey: referralId,
    });

  it('Kafka.binary(...) is accepted as a referral.detected.v1 intake event', () => {
    const message = Kafka.binary(intakeEvent());
    expect(message.headers).toMatchObject({ ce_id: 'nccia-0042', ce_type: 'referral.detected.v1', 'content-type': 'application/json' });
    const decoded = decodeCloudEvent(sentBySdk(message, 'referrals.intake'));
    expect(decoded).toMatchObject({ ok: true, mode: 'binary' });
    if (!decoded.ok) return;
    const parsed = IntakeEvent.safeParse(decoded.event);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(parsed.data).toMatchObject({ id: 'nccia-0042', source: 'urn:agency:nccia', type: 'referral.detected.v1', subject: referralId });
    expect(parsed.data!.data).toEqual(ReferralDetectedV1.parse(detected));
    // The key is the referral id, as the engine's own records are keyed.
    expect(message.key).toBe(referralId);
  });

  it('Kafka.structured(...) is accepted as a referral.detected.v1 intake event', () => {
    const message = Kafka.structured(intakeEvent());
    expect(String(message.headers['content-type'])).toMatch(/^application\/cloudevents\+json/);
    const decoded = decodeCloudEvent(sentBySdk(message, 'referrals.intake'));
    expect(decoded).toMatchObject({ ok: true, mode: 'structured' });
    if (!decoded.ok) return;
    const parsed = IntakeEvent.safeParse(decoded.event);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(parsed.data!.data).toEqual(ReferralDetectedV1.parse(detected));
  });

  const actions = [
    {
      type: 'referral.action.acknowledge.v1',
      data: { referralId, actor: { actorId: 'nccia-officer-12', agency: 'NCCIA', role: 'OFFICER' }, reason: 'case officer assigned' },
      expected: { track: 'referral', update: 'acknowledge' },
    },
    {
      type: 'referral.action.extend-deadline.v1',
      data: { referralId, track: 'justice', step: 'caseRegistration', by: { days: 2 }, reason: 'awaiting the platform records', actor: { actorId: 'nccia-sup-3', agency: 'NCCIA', role: 'SUPERVISOR' } },
      expected: { track: 'justice', update: 'extendDeadline' },
    },
    {
      type: 'referral.action.complete-task.v1',
      data: { referralId, taskId: 'T1', outcome: 'DONE', actor: { actorId: 'iom-7', agency: 'PARTNER', role: 'PARTNER', organisation: 'IOM' } },
      expected: { track: 'protection', update: 'completePartnerTask' },
    },
  ];

  for (const mode of ['binary', 'structured'] as const) {
    it(`Kafka.${mode}(...) actions are accepted as ActionEvent and resolve to their Temporal update`, () => {
      for (const { type, data, expected } of actions) {
        const ce = new CloudEvent({ id: `sdk-${mode}-${type}`, source: 'urn:agency:nccia', type, subject: referralId, datacontenttype: 'application/json', data, partitionkey: referralId });
        const decoded = decodeCloudEvent(sentBySdk(Kafka[mode](ce), 'referrals.actions'));
        expect(decoded, type).toMatchObject({ ok: true, mode });
        if (!decoded.ok) return;
        const parsed = ActionEvent.safeParse(decoded.event);
        expect(parsed.success, `${type}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
        expect(parsed.data!.type).toBe(type);
        expect(parsed.data!.id).toBe(`sdk-${mode}-${type}`);
        expect(resolveAction(parsed.data!)).toMatchObject(expected);
      }
    });
  }

  it('an SDK event with a wrong data shape is refused with the field named', () => {
    const ce = new CloudEvent({
      id: 'sdk-bad',
      source: 'urn:agency:nccia',
      type: 'referral.action.acknowledge.v1',
      datacontenttype: 'application/json',
      data: { referralId, actor: { actorId: 'x', agency: 'NCCIA', role: 'CHIEF' } },
    });
    const decoded = decodeCloudEvent(sentBySdk(Kafka.binary(ce), 'referrals.actions'));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const parsed = ActionEvent.safeParse(decoded.event);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.'))).toEqual(['data.actor.role']);
  });
});
