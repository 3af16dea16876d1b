import type { Logger } from 'pino';
import type { KeyRing } from '../codec/aes-gcm-codec.js';
import { seal, sealHeaders } from '../codec/seal.js';
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
 * Dead-letter headers, prefixed `dlq-`: what `referrals redrive` needs to route and filter (source
 * topic, reason) and to unseal, and what operators need to see why; none of them carries a value
 * of the message. The sender's own headers (CloudEvents attributes such as `ce_source`, `ce_subject`)
 * are sealed with the value into `dlq-sealed-headers` when a key ring is given (`ce_id` is also left
 * readable), else kept as they were; any `dlq-*` of the sender's is dropped.
 */
export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  errors: 'dlq-errors',
  topic: 'dlq-source-topic',
  partition: 'dlq-source-partition',
  offset: 'dlq-source-offset',
  at: 'dlq-at',
  /** The id of the payload key the value and headers are sealed with (codec/seal.ts); absent: as they were sent. */
  sealed: 'dlq-sealed',
  /** How the sealing key was derived from that key (`hkdf-sha256/v1`); absent on dead letters sealed with the key itself. */
  sealedKdf: 'dlq-sealed-kdf',
  /** The sender's headers, sealed (base64); absent: the sender's headers are kept in clear beside ours (dead letters from before, or unsealed). */
  sealedHeaders: 'dlq-sealed-headers',
} as const;

/** The one sender header kept readable beside the sealed ones (and sealed with them too). */
export const CLEAR_SENDER_HEADER = 'ce_id';

export interface DeadLetterOptions {
  /**
   * Seal (encrypt) each dead letter's value and the sender's headers with subkeys of this key
   * ring's active key: an invalid intake message still holds the persons it was sent with, its
   * headers may name them (`ce_subject`). `referrals redrive` unseals both.
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
      // A sender's own dlq-* headers would pass for ours (a dlq-sealed on a clear value): dropped.
      const senderHeaders = Object.fromEntries(Object.entries(record.headers).filter(([name]) => !name.toLowerCase().startsWith('dlq-')));
      const hasHeaders = Object.keys(senderHeaders).length > 0;
      const sealedHeaders = options.seal && hasHeaders ? sealHeaders(options.seal, senderHeaders) : undefined;
      const keyId = sealed?.keyId ?? sealedHeaders?.keyId;
      const out = {
        topic,
        key: record.key?.toString('utf8') ?? null,
        value: sealed ? sealed.value : record.value,
        headers: {
          // Sealed, all of them; ce_id stays readable too: the message's id, which its answer on the
          // sender's topic carries in clear anyway, so operators can tell which message this was.
          ...(sealedHeaders
            ? { ...(senderHeaders[CLEAR_SENDER_HEADER] !== undefined ? { [CLEAR_SENDER_HEADER]: senderHeaders[CLEAR_SENDER_HEADER] } : {}), [DLQ_HEADERS.sealedHeaders]: sealedHeaders.value }
            : senderHeaders),
          [DLQ_HEADERS.reason]: reason,
          [DLQ_HEADERS.errors]: JSON.stringify(errors.map(withoutValues)),
          [DLQ_HEADERS.topic]: record.topic,
          [DLQ_HEADERS.partition]: String(record.partition),
          [DLQ_HEADERS.offset]: record.offset,
          [DLQ_HEADERS.at]: new Date().toISOString(),
          ...(keyId ? { [DLQ_HEADERS.sealed]: keyId, [DLQ_HEADERS.sealedKdf]: (sealed ?? sealedHeaders)!.kdf } : {}),
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
