import { encodeCloudEvent } from '../messaging/cloudevents.js';
import type { Publisher } from '../messaging/kafka.js';
import { AuditEvent, CODEC_AUDIT_TYPE, CodecAuditEvent, EXPORT_AUDIT_TYPE, ExportAuditEvent, type CodecAuditV1, type ExportAuditV1 } from '../schemas/audit.js';

/**
 * Where the codec server's audit records go besides the log: one CloudEvent per decode request on
 * the audit topic (operators alone may read it). The event id is made once per request, so a
 * record written twice (a retried send) is one record to a consumer that drops duplicates by id.
 */
export interface CodecAudit {
  /** Resolves once the broker acknowledged the record; rejects if it could not be written. */
  write(id: string, record: CodecAuditV1): Promise<CodecAuditEvent>;
}

/** The HTCDS export's records go the same way (`referral.export-audit.v1`), by the same writer. */
export interface ExportAudit {
  /** Resolves once the broker acknowledged the record; rejects if it could not be written. */
  writeExport(id: string, record: ExportAuditV1): Promise<ExportAuditEvent>;
}

export function createCodecAudit(options: { publisher: Publisher; topic: string; source: string; exportSource?: string }): CodecAudit & ExportAudit {
  // Validated before it leaves: a record that does not match its schema is a bug here, not the consumer's problem.
  async function send<E>(schema: { parse(value: unknown): E }, type: string, source: string, id: string, record: { principal: { id: string }; time: string }): Promise<E> {
    const event = schema.parse({ specversion: '1.0', id, source, type, subject: record.principal.id, time: record.time, datacontenttype: 'application/json', data: record });
    await options.publisher.publish([encodeCloudEvent(options.topic, { id, source, type, subject: record.principal.id, time: record.time, data: record })]);
    return event;
  }
  return {
    write: (id, record) => send(CodecAuditEvent, CODEC_AUDIT_TYPE, options.source, id, record),
    writeExport: (id, record) => send(ExportAuditEvent, EXPORT_AUDIT_TYPE, options.exportSource ?? options.source, id, record),
  };
}

type TopicRecord = { headers: Record<string, string | undefined>; value: Buffer | string | null };

/** A binary-mode CloudEvent's attributes and data, as read from the topic. */
function eventFields(record: TopicRecord): unknown {
  const h = record.headers;
  return {
    specversion: h['ce_specversion'],
    id: h['ce_id'],
    source: h['ce_source'],
    type: h['ce_type'],
    subject: h['ce_subject'],
    time: h['ce_time'],
    datacontenttype: h['content-type'],
    data: JSON.parse(String(record.value ?? 'null')),
  };
}

/** An audit record as read back from the topic (binary-mode CloudEvent), checked against its schema: for operators' tools and the tests. */
export function readCodecAudit(record: TopicRecord): CodecAuditEvent {
  return CodecAuditEvent.parse(eventFields(record));
}

/** Any record of the audit topic (a decode or an export), checked against the schema of its type. */
export function readAuditEvent(record: TopicRecord): AuditEvent {
  return AuditEvent.parse(eventFields(record));
}
