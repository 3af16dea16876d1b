import type { InboundRecord, OutboundRecord } from './records.js';

/**
 * CloudEvents 1.0 Kafka protocol binding. Outbound events use binary mode (`ce_` headers,
 * JSON data in the value); inbound accepts binary and structured mode
 * (`content-type: application/cloudevents+json`), the two modes the spec defines for Kafka.
 */
const CE_PREFIX = 'ce_';
const STRUCTURED = 'application/cloudevents+json';
const JSON_TYPE = 'application/json';

export type DecodeResult = { ok: true; event: Record<string, unknown>; mode: 'binary' | 'structured' } | { ok: false; errors: string[] };

export function decodeCloudEvent(record: InboundRecord): DecodeResult {
  const contentType = (record.headers['content-type'] ?? '').toLowerCase();
  if (record.value === null || record.value.length === 0) return { ok: false, errors: ['value: the message has no body'] };
  let body: unknown;
  try {
    body = JSON.parse(record.value.toString('utf8'));
  } catch (err) {
    return { ok: false, errors: [`value: not valid JSON (${(err as Error).message})`] };
  }
  if (contentType.startsWith(STRUCTURED)) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return { ok: false, errors: ['value: a structured CloudEvent must be a JSON object'] };
    }
    return { ok: true, event: body as Record<string, unknown>, mode: 'structured' };
  }
  if (record.headers[`${CE_PREFIX}specversion`] === undefined) {
    return {
      ok: false,
      errors: [`headers.ce_specversion: missing (binary mode needs ce_ headers, or send content-type ${STRUCTURED})`],
    };
  }
  const event: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (name.startsWith(CE_PREFIX)) event[name.slice(CE_PREFIX.length)] = value;
  }
  if (contentType) event['datacontenttype'] = contentType;
  event['data'] = body;
  return { ok: true, event, mode: 'binary' };
}

export interface CloudEventOut {
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  data: unknown;
}

/** Binary-mode record keyed by the subject (the referral id) so a referral's events stay in order. */
export function encodeCloudEvent(topic: string, event: CloudEventOut): OutboundRecord {
  return {
    topic,
    key: event.subject,
    value: JSON.stringify(event.data),
    headers: {
      [`${CE_PREFIX}specversion`]: '1.0',
      [`${CE_PREFIX}id`]: event.id,
      [`${CE_PREFIX}source`]: event.source,
      [`${CE_PREFIX}type`]: event.type,
      [`${CE_PREFIX}subject`]: event.subject,
      [`${CE_PREFIX}time`]: event.time,
      'content-type': JSON_TYPE,
    },
  };
}
