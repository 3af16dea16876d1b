import { encodeCloudEvent } from '../messaging/cloudevents.js';
import type { Publisher } from '../messaging/kafka.js';
import { CODEC_AUDIT_TYPE, CodecAuditEvent, type CodecAuditV1 } from '../schemas/audit.js';

/**
 * Where the codec server's audit records go besides the log: one CloudEvent per decode request on
 * the audit topic (operators alone may read it). The event id is made once per request, so a
 * record written twice (a retried send) is one record to a consumer that drops duplicates by id.
 */
export interface CodecAudit {
  /** Resolves once the broker acknowledged the record; rejects if it could not be written. */
  write(id: string, record: CodecAuditV1): Promise<CodecAuditEvent>;
}

export function createCodecAudit(options: { publisher: Publisher; topic: string; source: string }): CodecAudit {
  return {
    async write(id, record) {
      // Validated before it leaves: a record that does not match its schema is a bug here, not the consumer's problem.
      const event = CodecAuditEvent.parse({
        specversion: '1.0',
        id,
        source: options.source,
        type: CODEC_AUDIT_TYPE,
        subject: record.principal.id,
        time: record.time,
        datacontenttype: 'application/json',
        data: record,
      });
      await options.publisher.publish([encodeCloudEvent(options.topic, { id, source: event.source, type: event.type, subject: event.subject, time: record.time, data: record })]);
      return event;
    },
  };
}

/** An audit record as read back from the topic (binary-mode CloudEvent), checked against its schema: for operators' tools and the tests. */
export function readCodecAudit(record: { headers: Record<string, string | undefined>; value: Buffer | string | null }): CodecAuditEvent {
  const h = record.headers;
  return CodecAuditEvent.parse({
    specversion: h['ce_specversion'],
    id: h['ce_id'],
    source: h['ce_source'],
    type: h['ce_type'],
    subject: h['ce_subject'],
    time: h['ce_time'],
    datacontenttype: h['content-type'],
    data: JSON.parse(String(record.value ?? 'null')),
  });
}
