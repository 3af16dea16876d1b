/**
 * CloudEvents Kafka binding (messaging/cloudevents.ts): binary mode out, binary and structured
 * mode in; a record that is not a CloudEvent is an `ok:false` result naming the part at fault.
 */
import { describe, it, expect } from 'vitest';
import { decodeCloudEvent, encodeCloudEvent, type CloudEventOut } from '../../messaging/cloudevents.js';
import type { InboundRecord, OutboundRecord } from '../../messaging/records.js';
import { IntakeEvent } from '../../schemas/cloudevents.js';
import { sampleReferrals } from '../../scripts/samples/referrals.js';

const referral = sampleReferrals('CE', new Date('2026-11-24T09:00:00.000Z'))[1];
if (!referral) throw new Error('scripts/samples/referrals.ts has fewer samples than expected');

const out: CloudEventOut = {
  id: 'evt-0001',
  source: 'urn:agency:fia:airport-desk',
  type: 'referral.detected.v1',
  subject: referral.referralId,
  time: '2026-11-24T09:00:00.000Z',
  data: referral,
};

/** What a consumer receives for an outbound record. */
function inbound(record: OutboundRecord): InboundRecord {
  return {
    topic: record.topic,
    partition: 0,
    offset: '0',
    key: record.key === null ? null : Buffer.from(record.key, 'utf8'),
    value: record.value === null ? null : Buffer.isBuffer(record.value) ? record.value : Buffer.from(record.value, 'utf8'),
    headers: { ...record.headers },
  };
}

function raw(value: Buffer | null, headers: Record<string, string>): InboundRecord {
  return { topic: 'referrals.intake', partition: 0, offset: '7', key: null, value, headers };
}

describe('encodeCloudEvent', () => {
  it('writes binary mode: ce_ headers, JSON data in the value, keyed by the subject', () => {
    const record = encodeCloudEvent('referrals.intake', out);
    expect(record.topic).toBe('referrals.intake');
    expect(record.key).toBe(referral.referralId);
    expect(record.headers).toEqual({
      ce_specversion: '1.0',
      ce_id: 'evt-0001',
      ce_type: 'referral.detected.v1',
      ce_source: 'urn:agency:fia:airport-desk',
      ce_subject: referral.referralId,
      ce_time: '2026-11-24T09:00:00.000Z',
      'content-type': 'application/json',
    });
    // The value is the data alone, not the whole event.
    expect(JSON.parse(String(record.value))).toEqual(referral);
  });
});

describe('decodeCloudEvent', () => {
  it('round-trips an encoded event (binary mode)', () => {
    const result = decodeCloudEvent(inbound(encodeCloudEvent('referrals.intake', out)));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.mode).toBe('binary');
    expect(result.event).toEqual({
      specversion: '1.0',
      id: out.id,
      source: out.source,
      type: out.type,
      subject: out.subject,
      time: out.time,
      datacontenttype: 'application/json',
      data: referral,
    });
    // And what comes back is a valid intake event.
    const parsed = IntakeEvent.safeParse(result.event);
    expect(parsed.success).toBe(true);
  });

  it('decodes structured mode: the whole event in the value', () => {
    const event = { specversion: '1.0', id: 'evt-2', source: 'urn:partner:ngo', type: 'referral.detected.v1', subject: referral.referralId, data: referral };
    const result = decodeCloudEvent(raw(Buffer.from(JSON.stringify(event)), { 'content-type': 'application/cloudevents+json; charset=utf-8' }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.mode).toBe('structured');
    expect(result.event).toEqual(event);
    expect(IntakeEvent.safeParse(result.event).success).toBe(true);
  });

  it('rejects a structured event that is not a JSON object, at value', () => {
    const result = decodeCloudEvent(raw(Buffer.from('[1,2]'), { 'content-type': 'application/cloudevents+json' }));
    expect(result).toEqual({ ok: false, errors: [expect.stringMatching(/^value: /)] });
  });

  it('rejects a record with no body, at value', () => {
    for (const value of [null, Buffer.alloc(0)]) {
      const result = decodeCloudEvent(raw(value, { ce_specversion: '1.0', 'content-type': 'application/json' }));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors).toEqual([expect.stringMatching(/^value: /)]);
    }
  });

  it('rejects a body that is not JSON, at value', () => {
    const result = decodeCloudEvent(raw(Buffer.from('referral for Sample Victim'), { ce_specversion: '1.0', 'content-type': 'application/json' }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual([expect.stringMatching(/^value: not valid JSON/)]);
  });

  it('rejects a binary-mode record without ce_specversion, at headers.ce_specversion', () => {
    const record = inbound(encodeCloudEvent('referrals.intake', out));
    delete record.headers['ce_specversion'];
    const result = decodeCloudEvent(record);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual([expect.stringMatching(/^headers\.ce_specversion: /)]);

    const bare = decodeCloudEvent(raw(Buffer.from('{}'), {}));
    expect(bare.ok).toBe(false);
    if (!bare.ok) expect(bare.errors[0]).toMatch(/^headers\.ce_specversion: /);
  });
});
