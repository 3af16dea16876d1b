import type { Logger } from 'pino';
import type { KeyRing } from '../codec/aes-gcm-codec.js';
import { seal } from '../codec/seal.js';
import type { Publisher, RecordContext } from '../messaging/kafka.js';
import type { InboundRecord } from '../messaging/records.js';
import { retryTransient } from './retry.js';

/** ACTOR_MISMATCH: valid, but it names another sender than the one whose topic it came on. */
export type DeadLetterReason = 'INVALID_CLOUDEVENT' | 'INVALID_EVENT' | 'UNKNOWN_EVENT_TYPE' | 'ACTOR_MISMATCH';

export interface DeadLetters {
  /** Resolves once the dead letter is on the broker, so the original offset may be committed. */
  send(record: InboundRecord, reason: DeadLetterReason, errors: string[], ctx: RecordContext): Promise<void>;
}

/**
 * Dead-letter headers: the original headers are kept as they were (any `dlq-*` of the sender's
 * dropped), ours are prefixed `dlq-`. None of them is sealed: they carry no value of the message.
 */
export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  errors: 'dlq-errors',
  topic: 'dlq-source-topic',
  partition: 'dlq-source-partition',
  offset: 'dlq-source-offset',
  at: 'dlq-at',
  /** The id of the payload key the value is sealed with (codec/seal.ts); absent: the value is as it was sent. */
  sealed: 'dlq-sealed',
} as const;

export interface DeadLetterOptions {
  /**
   * Seal (encrypt) each dead letter's value with this key ring's active key: an invalid intake
   * message still holds the persons it was sent with. `referrals redrive` unseals it.
   */
  seal?: KeyRing;
}

export function createDeadLetters(publisher: Publisher, topic: string, logger: Logger, options: DeadLetterOptions = {}): DeadLetters {
  const log = logger.child({ component: 'dead-letters' });
  return {
    async send(record, reason, errors, ctx) {
      // The original bytes, so a fixed consumer can re-drive exactly what was sent: sealed when a
      // key ring is given (nothing to seal when there was no value).
      const sealed = options.seal && record.value !== null ? seal(options.seal, record.value) : undefined;
      const out = {
        topic,
        key: record.key?.toString('utf8') ?? null,
        value: sealed ? sealed.value : record.value,
        headers: {
          // A sender's own dlq-* headers would pass for ours (a dlq-sealed on a clear value): dropped.
          ...Object.fromEntries(Object.entries(record.headers).filter(([name]) => !name.toLowerCase().startsWith('dlq-'))),
          [DLQ_HEADERS.reason]: reason,
          [DLQ_HEADERS.errors]: JSON.stringify(errors.map(withoutValues)),
          [DLQ_HEADERS.topic]: record.topic,
          [DLQ_HEADERS.partition]: String(record.partition),
          [DLQ_HEADERS.offset]: record.offset,
          [DLQ_HEADERS.at]: new Date().toISOString(),
          ...(sealed ? { [DLQ_HEADERS.sealed]: sealed.keyId } : {}),
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

/**
 * An error text fit for the dlq-errors header, which is not sealed: without the values it may
 * quote. zod quotes what it received ("Invalid enum value. Expected 'A' | 'B', received 'X'"),
 * JSON.parse the start of the text ("Unexpected token 'G', "Gulnaz T"... is not valid JSON").
 * The field and what was expected stay.
 */
export function withoutValues(error: string): string {
  const received = error.indexOf(', received');
  const text = received >= 0 ? error.slice(0, received) : error;
  return text.replace(/not valid JSON \((.*)\)$/s, (_, why: string) => {
    const position = /at position \d+/.exec(why);
    return position ? `not valid JSON (${position[0]})` : 'not valid JSON';
  });
}
