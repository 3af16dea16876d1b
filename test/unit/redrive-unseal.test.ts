/**
 * `referrals redrive` restoring a dead letter's original value (cli/redrive.ts originalValue):
 * unsealed with the key its dlq-sealed header names, passed through without it; a key the CLI
 * lacks stops the run with exit 1 naming the key id; keys that cannot be loaded exit 2. The key
 * ring is loaded only for a sealed record.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createDeadLetters } from '../../bridge/dead-letters.js';
import { originalValue, restoredHeaders } from '../../cli/redrive.js';
import { CliError, EXIT } from '../../cli/errors.js';
import { gcmEncrypt, KeyRing } from '../../codec/aes-gcm-codec.js';
import { SEAL_AAD, seal, sealHeaders } from '../../codec/seal.js';
import { ConfigError } from '../../config/errors.js';
import { RecordingPublisher } from '../support/recording-publisher.js';

const original = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x22, 0x7d]);
const ring = new KeyRing('new', { new: randomBytes(32), old: randomBytes(32) });
const where = 'referrals.dead-letter/0@7';

function cliError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    return err as CliError;
  }
  throw new Error('expected a CliError');
}

describe('redrive: the original value of a dead letter', () => {
  it('unseals a sealed value with the key its header names, old keys included', () => {
    for (const active of ['new', 'old']) {
      const sealed = seal(ring.withActive(active), original);
      expect(Buffer.compare(originalValue(sealed.value, sealed.keyId, () => ring, where)!, original)).toBe(0);
    }
  });

  it('passes a value without dlq-sealed (or no value) through, without loading any key', () => {
    const noKeys = () => {
      throw new Error('the key ring must not be loaded');
    };
    expect(originalValue(original, undefined, noKeys, where)).toBe(original);
    expect(originalValue(null, undefined, noKeys, where)).toBeNull();
    expect(originalValue(null, 'new', noKeys, where)).toBeNull();
  });

  it('a key the CLI lacks: exit 1 naming the key id and the record, never a key', () => {
    const sealed = seal(new KeyRing('retired', { retired: randomBytes(32) }), original);
    const err = cliError(() => originalValue(sealed.value, 'retired', () => ring, where));
    expect(err.exitCode).toBe(EXIT.REJECTED);
    expect(err.message).toContain(where);
    expect(err.message).toContain('"retired"');
    expect(err.message).toContain('uncommitted');
  });

  it('a value that fails authentication: exit 1 naming the key id', () => {
    const sealed = seal(ring, original);
    sealed.value[sealed.value.length - 1]! ^= 0x01;
    const err = cliError(() => originalValue(sealed.value, 'new', () => ring, where));
    expect(err.exitCode).toBe(EXIT.REJECTED);
    expect(err.message).toContain('"new"');
  });

  it('payload keys that cannot be loaded: exit 2 naming the key id and the configuration problem', () => {
    const sealed = seal(ring, original);
    const err = cliError(() =>
      originalValue(sealed.value, 'new', () => {
        throw new ConfigError('payload key configuration', ['no payload encryption key is configured: set PAYLOAD_KEYS']);
      }, where),
    );
    expect(err.exitCode).toBe(EXIT.USAGE);
    expect(err.message).toContain('"new"');
    expect(err.message).toContain('PAYLOAD_KEYS');
  });
});

describe('redrive: the original headers of a dead letter', () => {
  const senderHeaders = { ce_specversion: '1.0', ce_id: 'fia-7', ce_type: 'referral.detected.v1', ce_subject: 'Victim Name R', 'x-bin': '\u00ff\u0000\u00e9' };
  const ours = { 'dlq-reason': 'INVALID_EVENT', 'dlq-source-topic': 'referrals.intake.fia', 'dlq-errors': '[]' };

  it('unseals the sender headers sealed by the dead-letter writer, exactly, without our dlq- headers', async () => {
    const publisher = new RecordingPublisher();
    const record = { topic: 'referrals.intake.fia', partition: 0, offset: '7', key: Buffer.from('REF-1'), value: Buffer.from(original), headers: senderHeaders };
    await createDeadLetters(publisher, 'dlq', pino({ level: 'silent' }), { seal: ring }).send(record, 'INVALID_EVENT', ['x: y'], { heartbeat: async () => undefined, isStopping: () => false });
    const written = publisher.records[0]!;
    expect(written.headers['ce_subject']).toBeUndefined();
    // As kafkajs hands them to the redrive: Buffers.
    const raw = Object.fromEntries(Object.entries(written.headers).map(([k, v]) => [k, Buffer.from(v)]));
    expect(restoredHeaders(raw, () => ring, where)).toEqual(senderHeaders);
    expect(Buffer.compare(originalValue(written.value as Buffer, raw['dlq-sealed']!.toString(), () => ring, where, raw['dlq-sealed-kdf']!.toString())!, original)).toBe(0);
  });

  it('keeps re-driving old dead letters: clear sender headers, no dlq-sealed-headers, no key needed', () => {
    const noKeys = () => {
      throw new Error('the key ring must not be loaded');
    };
    expect(restoredHeaders({ ...senderHeaders, ...ours }, noKeys, where)).toEqual(senderHeaders);
    // An old dead letter whose value was sealed with the raw key, before subkeys.
    const rawSealed = gcmEncrypt(ring.key('old')!, original, SEAL_AAD);
    expect(Buffer.compare(originalValue(rawSealed, 'old', () => ring, where)!, original)).toBe(0);
  });

  it('sealed headers with a key the CLI lacks, or without dlq-sealed: exit 1, naming the record', () => {
    const other = new KeyRing('gone', { gone: randomBytes(32) });
    const sealed = sealHeaders(other, senderHeaders);
    const lacking = cliError(() => restoredHeaders({ ...ours, 'dlq-sealed': 'gone', 'dlq-sealed-headers': sealed.value }, () => ring, where));
    expect(lacking.exitCode).toBe(EXIT.REJECTED);
    expect(lacking.message).toContain('"gone"');
    expect(lacking.message).toContain(where);
    const orphan = cliError(() => restoredHeaders({ ...ours, 'dlq-sealed-headers': sealed.value }, () => ring, where));
    expect(orphan.exitCode).toBe(EXIT.REJECTED);
    expect(orphan.message).toContain('dlq-sealed');
  });
});
