import type { Logger } from 'pino';
import type { Publisher, RecordContext } from '../messaging/kafka.js';
import type { InboundRecord } from '../messaging/records.js';
import { retryTransient } from './retry.js';

export type DeadLetterReason = 'INVALID_CLOUDEVENT' | 'INVALID_EVENT' | 'UNKNOWN_EVENT_TYPE';

export interface DeadLetters {
  /** Resolves once the dead letter is on the broker, so the original offset may be committed. */
  send(record: InboundRecord, reason: DeadLetterReason, errors: string[], ctx: RecordContext): Promise<void>;
}

/** Dead-letter headers: the original headers are kept as they were, ours are prefixed `dlq-`. */
export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  errors: 'dlq-errors',
  topic: 'dlq-source-topic',
  partition: 'dlq-source-partition',
  offset: 'dlq-source-offset',
  at: 'dlq-at',
} as const;

export function createDeadLetters(publisher: Publisher, topic: string, logger: Logger): DeadLetters {
  const log = logger.child({ component: 'dead-letters' });
  return {
    async send(record, reason, errors, ctx) {
      const out = {
        topic,
        key: record.key?.toString('utf8') ?? null,
        // The original bytes, untouched, so a fixed consumer can re-drive exactly what was sent.
        value: record.value,
        headers: {
          ...record.headers,
          [DLQ_HEADERS.reason]: reason,
          [DLQ_HEADERS.errors]: JSON.stringify(errors),
          [DLQ_HEADERS.topic]: record.topic,
          [DLQ_HEADERS.partition]: String(record.partition),
          [DLQ_HEADERS.offset]: record.offset,
          [DLQ_HEADERS.at]: new Date().toISOString(),
        },
      };
      await retryTransient(() => publisher.publish([out]), {
        ctx,
        onRetry: (err, attempt) => log.warn({ attempt, err: { message: err.message } }, 'dead-letter topic unavailable: retrying'),
      });
      // Only the fields at fault are logged: error texts may quote the (possibly personal) values.
      log.warn(
        { source: { topic: record.topic, partition: record.partition, offset: record.offset }, reason, fields: errors.map(fieldOf) },
        'message dead-lettered',
      );
    },
  };
}

/** The field an error names (`path: message`); never the message, which may quote a personal value. */
function fieldOf(error: string): string {
  const at = error.indexOf(': ');
  return at > 0 ? error.slice(0, at) : '(unspecified)';
}
