/**
 * Dead letters (bridge/dead-letters.ts): the original bytes and headers are kept (the bytes sealed
 * with the payload key when a key ring is given), the reason and source are added as dlq- headers,
 * dlq-errors never quotes a value, the log names fields but never error texts, a failing broker
 * is retried and a stopping bridge abandons the record.
 */
import { randomBytes } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { pino } from 'pino';
import { createDeadLetters, DLQ_HEADERS, withoutValues, type DeadLetterReason } from '../../bridge/dead-letters.js';
import { ShutdownAbandon } from '../../bridge/retry.js';
import { KeyRing } from '../../codec/aes-gcm-codec.js';
import { unseal, unsealHeaders } from '../../codec/seal.js';
import type { RecordContext } from '../../messaging/kafka.js';
import type { InboundRecord, OutboundRecord } from '../../messaging/records.js';
import { RecordingPublisher } from '../support/recording-publisher.js';

const ctx: RecordContext = { heartbeat: async () => {}, isStopping: () => false };

function memoryLogger() {
  const lines: string[] = [];
  const logger = pino({}, { write(s: string) { lines.push(s); } });
  return { logger, lines };
}

/** Not valid UTF-8: a decode/re-encode round trip would turn these into U+FFFD. */
const originalValue = Buffer.from([0xff, 0xfe, 0x00]);
const originalHeaders = { ce_specversion: '1.0', ce_type: 'referral.detected.v1', 'x-trace': 'abc-123' };

function record(): InboundRecord {
  return {
    topic: 'referrals.intake',
    partition: 3,
    offset: '4711',
    key: Buffer.from('REF-000123'),
    value: Buffer.from(originalValue),
    headers: { ...originalHeaders },
  };
}

const errors = ['data.persons.0.name: expected a name, got "Victim Name Q"', 'data.facts.location.province: Invalid enum value'];

function only(publisher: RecordingPublisher): OutboundRecord {
  expect(publisher.records).toHaveLength(1);
  const out = publisher.records[0];
  if (!out) throw new Error('no dead letter was published');
  return out;
}

describe('createDeadLetters', () => {
  it('sends the original value bytes and headers, with dlq- headers added', async () => {
    const publisher = new RecordingPublisher();
    const { logger } = memoryLogger();
    await createDeadLetters(publisher, 'dlq', logger).send(record(), 'INVALID_EVENT', errors, ctx);

    const out = only(publisher);
    expect(out.topic).toBe('dlq');
    expect(out.key).toBe('REF-000123');
    expect(Buffer.isBuffer(out.value)).toBe(true);
    expect(Buffer.compare(out.value as Buffer, originalValue)).toBe(0);

    for (const [name, value] of Object.entries(originalHeaders)) expect(out.headers[name]).toBe(value);
    expect(out.headers[DLQ_HEADERS.reason]).toBe('INVALID_EVENT');
    expect(out.headers['dlq-reason']).toBe('INVALID_EVENT');
    expect(JSON.parse(out.headers['dlq-errors'] ?? 'null')).toEqual(errors);
    expect(out.headers['dlq-source-topic']).toBe('referrals.intake');
    expect(out.headers['dlq-source-partition']).toBe('3');
    expect(out.headers['dlq-source-offset']).toBe('4711');
    expect(Number.isNaN(Date.parse(out.headers['dlq-at'] ?? ''))).toBe(false);
    // Without a key ring: not sealed.
    expect(out.headers[DLQ_HEADERS.sealed]).toBeUndefined();
    expect(Object.keys(out.headers).filter((h) => h.startsWith('dlq-')).sort()).toEqual(
      ['dlq-at', 'dlq-errors', 'dlq-reason', 'dlq-source-offset', 'dlq-source-partition', 'dlq-source-topic'],
    );
  });

  it('with a key ring, seals the value with the active key: it unseals to the original bytes', async () => {
    const ring = new KeyRing('dlq-2', { 'dlq-2': randomBytes(32), 'dlq-1': randomBytes(32) });
    const personal = Buffer.from(JSON.stringify({ referralId: 'REF-000123', persons: [{ role: 'VICTIM', name: 'Victim Name Q' }] }));
    for (const value of [originalValue, personal]) {
      const publisher = new RecordingPublisher();
      const { logger } = memoryLogger();
      const zodErrors = ["data.persons.0.role: Invalid enum value. Expected 'VICTIM' | 'SUSPECT', received 'Victim Name Q'"];
      await createDeadLetters(publisher, 'dlq', logger, { seal: ring }).send({ ...record(), value: Buffer.from(value) }, 'INVALID_EVENT', zodErrors, ctx);

      const out = only(publisher);
      expect(out.key).toBe('REF-000123');
      expect(out.headers[DLQ_HEADERS.sealed]).toBe('dlq-2');
      expect(out.headers['dlq-sealed']).toBe('dlq-2');
      const sealed = out.value as Buffer;
      expect(Buffer.isBuffer(sealed)).toBe(true);
      expect(sealed.equals(value)).toBe(false);
      expect(sealed.includes(Buffer.from('Victim Name Q'))).toBe(false);
      expect(out.headers[DLQ_HEADERS.sealedKdf]).toBe('hkdf-sha256/v1');
      expect(Buffer.compare(unseal(ring, sealed, 'dlq-2', 'hkdf-sha256/v1'), value)).toBe(0);
      // The sender's headers are sealed with the value: none of them is left in clear, they unseal exactly.
      for (const name of Object.keys(originalHeaders)) expect(out.headers[name]).toBeUndefined();
      expect(Object.keys(out.headers).every((h) => h.startsWith('dlq-'))).toBe(true);
      // Only its id stays readable beside them (its answer carries it in clear too).
      const withId = new RecordingPublisher();
      await createDeadLetters(withId, 'dlq', logger, { seal: ring }).send({ ...record(), headers: { ...originalHeaders, ce_id: 'fia-9', ce_subject: 'x' } }, 'INVALID_EVENT', zodErrors, ctx);
      expect(Object.keys(only(withId).headers).filter((h) => !h.startsWith('dlq-'))).toEqual(['ce_id']);
      expect(unsealHeaders(ring, only(withId).headers[DLQ_HEADERS.sealedHeaders]!, 'dlq-2')).toEqual({ ...originalHeaders, ce_id: 'fia-9', ce_subject: 'x' });
      expect(JSON.stringify(out.headers)).not.toContain('referral.detected.v1');
      expect(unsealHeaders(ring, out.headers[DLQ_HEADERS.sealedHeaders]!, 'dlq-2', out.headers[DLQ_HEADERS.sealedKdf])).toEqual(originalHeaders);
      // Ours, the ones the redrive routes and filters by, stay readable.
      expect(out.headers).toMatchObject({ 'dlq-reason': 'INVALID_EVENT', 'dlq-source-topic': 'referrals.intake', 'dlq-source-partition': '3', 'dlq-source-offset': '4711' });
      expect(JSON.stringify(out.headers)).not.toContain('Victim Name Q');
    }
  });

  it('with a key ring, keeps a record without a value without one; its headers are still sealed', async () => {
    const publisher = new RecordingPublisher();
    const { logger } = memoryLogger();
    const ring = new KeyRing('k', { k: randomBytes(32) });
    await createDeadLetters(publisher, 'dlq', logger, { seal: ring }).send({ ...record(), value: null }, 'INVALID_CLOUDEVENT', ['value: the message has no body'], ctx);
    const out = only(publisher);
    expect(out.value).toBeNull();
    expect(out.headers[DLQ_HEADERS.sealed]).toBe('k');
    expect(unsealHeaders(ring, out.headers[DLQ_HEADERS.sealedHeaders]!, 'k')).toEqual(originalHeaders);
    // Nothing at all to seal: no dlq-sealed.
    const bare = new RecordingPublisher();
    await createDeadLetters(bare, 'dlq', logger, { seal: ring }).send({ ...record(), value: null, headers: {} }, 'INVALID_CLOUDEVENT', ['value: the message has no body'], ctx);
    expect(only(bare).headers[DLQ_HEADERS.sealed]).toBeUndefined();
    expect(only(bare).headers[DLQ_HEADERS.sealedHeaders]).toBeUndefined();
  });

  it("drops the sender's own dlq- headers: a dlq-sealed on a clear value would pass for ours", async () => {
    const publisher = new RecordingPublisher();
    const { logger } = memoryLogger();
    const spoofed = { ...record(), headers: { ...originalHeaders, 'dlq-sealed': 'k1', 'DLQ-Reason': 'x' } };
    await createDeadLetters(publisher, 'dlq', logger).send(spoofed, 'INVALID_EVENT', errors, ctx);
    const out = only(publisher);
    expect(out.headers['dlq-sealed']).toBeUndefined();
    expect(out.headers['DLQ-Reason']).toBeUndefined();
    expect(Buffer.compare(out.value as Buffer, originalValue)).toBe(0);
  });

  it('dlq-errors names the fields and what was expected, never the values received', async () => {
    const publisher = new RecordingPublisher();
    const { logger } = memoryLogger();
    let jsonError = '';
    try {
      JSON.parse('Gulnaz Tarkhanova');
    } catch (err) {
      jsonError = `value: not valid JSON (${(err as Error).message})`;
    }
    const quoting = [
      "data.persons.0.nationality: Invalid enum value. Expected 'PK' | 'AF', received 'Uzbek national Gulnaz'",
      'data.persons.0.age: Expected number, received string',
      jsonError,
      'data.facts.caseType: Required',
    ];
    await createDeadLetters(publisher, 'dlq', logger).send(record(), 'INVALID_EVENT', quoting, ctx);
    const sent = JSON.parse(only(publisher).headers['dlq-errors'] ?? 'null') as string[];
    expect(sent).toEqual([
      "data.persons.0.nationality: Invalid enum value. Expected 'PK' | 'AF'",
      'data.persons.0.age: Expected number',
      'value: not valid JSON',
      'data.facts.caseType: Required',
    ]);
    expect(JSON.stringify(sent)).not.toMatch(/Gulnaz|Uzbek/);
    expect(withoutValues("value: not valid JSON (Expected ',' or '}' after property value in JSON at position 35)")).toBe('value: not valid JSON (at position 35)');
  });

  it('keeps a record with no key or body as it was', async () => {
    const publisher = new RecordingPublisher();
    const { logger } = memoryLogger();
    await createDeadLetters(publisher, 'dlq', logger).send({ ...record(), key: null, value: null }, 'INVALID_CLOUDEVENT', ['value: the message has no body'], ctx);
    const out = only(publisher);
    expect(out.key).toBeNull();
    expect(out.value).toBeNull();
    expect(out.headers['dlq-reason']).toBe('INVALID_CLOUDEVENT');
  });

  it('logs the source and the fields at fault, never the error texts', async () => {
    const publisher = new RecordingPublisher();
    const { logger, lines } = memoryLogger();
    await createDeadLetters(publisher, 'dlq', logger).send(record(), 'INVALID_EVENT', errors, ctx);

    const text = lines.join('');
    expect(text).not.toContain('Victim Name Q');
    expect(text).not.toContain('Invalid enum value');
    const entry = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'message dead-lettered');
    expect(entry).toBeDefined();
    expect(entry).toMatchObject({
      component: 'dead-letters',
      reason: 'INVALID_EVENT',
      fields: ['data.persons.0.name', 'data.facts.location.province'],
      source: { topic: 'referrals.intake', partition: 3, offset: '4711' },
    });
  });

  it('writes each reason as dlq-reason, ACTOR_MISMATCH (a message naming another sender than its topic\'s) included', async () => {
    const reasons: DeadLetterReason[] = ['INVALID_CLOUDEVENT', 'INVALID_EVENT', 'UNKNOWN_EVENT_TYPE', 'ACTOR_MISMATCH'];
    for (const reason of reasons) {
      const publisher = new RecordingPublisher();
      const { logger, lines } = memoryLogger();
      const mismatch = ["data.sourceAgency: this topic is NCCIA's own; it cannot report for FIA"];
      await createDeadLetters(publisher, 'dlq', logger).send({ ...record(), topic: 'referrals.intake.nccia' }, reason, mismatch, ctx);
      const out = only(publisher);
      expect(out.headers['dlq-reason']).toBe(reason);
      expect(out.headers['dlq-source-topic']).toBe('referrals.intake.nccia');
      expect(JSON.parse(out.headers['dlq-errors'] ?? 'null')).toEqual(mismatch);
      expect(Buffer.compare(out.value as Buffer, originalValue)).toBe(0);
      const entry = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'message dead-lettered');
      expect(entry).toMatchObject({ reason, fields: ['data.sourceAgency'] });
    }
  });

  it('retries a failing dead-letter topic until it accepts the record', async () => {
    const publisher = new RecordingPublisher();
    publisher.failNext = 2;
    const { logger, lines } = memoryLogger();
    let heartbeats = 0;
    const counting: RecordContext = { heartbeat: async () => { heartbeats++; }, isStopping: () => false };
    await createDeadLetters(publisher, 'dlq', logger).send(record(), 'UNKNOWN_EVENT_TYPE', ['type: unknown'], counting);

    expect(publisher.failNext).toBe(0);
    const out = only(publisher);
    expect(Buffer.compare(out.value as Buffer, originalValue)).toBe(0);
    expect(heartbeats).toBeGreaterThan(0);
    const retries = lines.filter((l) => l.includes('dead-letter topic unavailable'));
    expect(retries).toHaveLength(2);
  });

  it('throws ShutdownAbandon when the bridge is stopping, publishing nothing', async () => {
    const publisher = new RecordingPublisher();
    const { logger } = memoryLogger();
    const stopping: RecordContext = { heartbeat: async () => {}, isStopping: () => true };
    await expect(createDeadLetters(publisher, 'dlq', logger).send(record(), 'INVALID_EVENT', errors, stopping)).rejects.toBeInstanceOf(ShutdownAbandon);
    expect(publisher.records).toHaveLength(0);
  });

  it('throws ShutdownAbandon when the bridge stops while the topic is failing', async () => {
    const publisher = new RecordingPublisher();
    publisher.failNext = 1_000;
    const { logger } = memoryLogger();
    let stop = false;
    const ctxStoppingLater: RecordContext = { heartbeat: async () => {}, isStopping: () => stop };
    const sending = createDeadLetters(publisher, 'dlq', logger).send(record(), 'INVALID_EVENT', errors, ctxStoppingLater);
    const outcome = sending.then(
      () => 'sent',
      (err: unknown) => err,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    stop = true;
    const err = await outcome;
    expect(err).toBeInstanceOf(ShutdownAbandon);
    expect((err as ShutdownAbandon).code).toBe('SHUTDOWN');
    expect(publisher.records).toHaveLength(0);
  });
});
