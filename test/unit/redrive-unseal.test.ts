/**
 * `referrals redrive` restoring a dead letter's original value (cli/redrive.ts originalValue):
 * unsealed with the key its dlq-sealed header names, passed through without it; a key the CLI
 * lacks stops the run with exit 1 naming the key id; keys that cannot be loaded exit 2. The key
 * ring is loaded only for a sealed record.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { originalValue } from '../../cli/redrive.js';
import { CliError, EXIT } from '../../cli/errors.js';
import { KeyRing } from '../../codec/aes-gcm-codec.js';
import { seal } from '../../codec/seal.js';
import { ConfigError } from '../../config/errors.js';

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
