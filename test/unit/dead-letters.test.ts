/**
 * Dead letters (bridge/dead-letters.ts): the original bytes and headers are kept, the reason and
 * source are added as dlq- headers, the log names fields but never error texts, a failing broker
 * is retried and a stopping bridge abandons the record.
 */
import { describe, it, expect } from 'vitest';
import { pino } from 'pino';
import { createDeadLetters, DLQ_HEADERS } from '../../bridge/dead-letters.js';
import { ShutdownAbandon } from '../../bridge/retry.js';
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
