/**
 * Sealing (codec/seal.ts): dead-letter values encrypted with the payload key ring, restored byte
 * for byte; a tampered value, a wrong key or an unknown key id is refused with an error naming
 * the key id, never the key or the contents.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AesGcmCodec, KeyRing, PayloadEncryptionError } from '../../codec/aes-gcm-codec.js';
import { SEAL_AAD, seal, unseal } from '../../codec/seal.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const secret = Buffer.from(JSON.stringify({ persons: [{ role: 'VICTIM', name: 'Sealed Victim Nargis' }] }));

function sealError(fn: () => unknown): PayloadEncryptionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PayloadEncryptionError);
    return err as PayloadEncryptionError;
  }
  throw new Error('expected a PayloadEncryptionError');
}

describe('seal / unseal', () => {
  const ring = new KeyRing('k1', { k1 });

  it('round-trips any bytes, not only UTF-8, with the active key id', () => {
    for (const bytes of [secret, Buffer.from([0xff, 0xfe, 0x00, 0x7b]), Buffer.alloc(0)]) {
      const sealed = seal(ring, bytes);
      expect(sealed.keyId).toBe('k1');
      expect(sealed.value.length).toBe(12 + bytes.length + 16);
      expect(Buffer.compare(unseal(ring, sealed.value, sealed.keyId), bytes)).toBe(0);
    }
  });

  it('hides the contents, with a fresh iv each time', () => {
    const a = seal(ring, secret);
    const b = seal(ring, secret);
    expect(a.value.toString('latin1')).not.toContain('Sealed Victim Nargis');
    expect(a.value.includes(Buffer.from('Nargis'))).toBe(false);
    expect(a.value.subarray(0, 12).equals(b.value.subarray(0, 12))).toBe(false);
    expect(a.value.equals(b.value)).toBe(false);
  });

  it('refuses a tampered value, naming the key id', () => {
    const { value, keyId } = seal(ring, secret);
    for (const at of [0, 12, value.length - 1]) {
      const tampered = Buffer.from(value);
      tampered[at] = tampered[at]! ^ 0x01;
      const err = sealError(() => unseal(ring, tampered, keyId));
      expect(err.code).toBe('DECRYPTION_FAILED');
      expect(err.keyId).toBe('k1');
      expect(err.message).toContain('"k1"');
    }
    expect(sealError(() => unseal(ring, value.subarray(0, 20), keyId)).code).toBe('MALFORMED_CIPHERTEXT');
  });

  it('refuses a value sealed with another key under the same id', () => {
    const { value } = seal(ring, secret);
    const err = sealError(() => unseal(new KeyRing('k1', { k1: k2 }), value, 'k1'));
    expect(err.code).toBe('DECRYPTION_FAILED');
  });

  it('refuses an unknown key id, naming it and the known ids, never a key', () => {
    const { value } = seal(new KeyRing('k0', { k0: randomBytes(32) }), secret);
    const err = sealError(() => unseal(ring, value, 'k0'));
    expect(err.code).toBe('UNKNOWN_KEY_ID');
    expect(err.keyId).toBe('k0');
    expect(err.message).toContain('"k0"');
    expect(err.message).toContain('known: k1');
    expect(err.message).toContain('PAYLOAD_KEYS');
    for (const key of [k1, k2]) {
      expect(err.message).not.toContain(key.toString('base64'));
      expect(err.message).not.toContain(key.toString('hex'));
    }
    // An id that is not a plain id is not echoed.
    const odd = sealError(() => unseal(ring, value, 'k0"\nInjected: yes'));
    expect(odd.code).toBe('UNKNOWN_KEY_ID');
    expect(odd.message).not.toContain('Injected');
  });

  it('after a rotation, seals with the new key and still unseals with the old one', () => {
    const before = seal(new KeyRing('k1', { k1 }), secret);
    const rotated = new KeyRing('k2', { k2, k1 });
    const after = seal(rotated, secret);
    expect(after.keyId).toBe('k2');
    expect(Buffer.compare(unseal(rotated, before.value, before.keyId), secret)).toBe(0);
    expect(Buffer.compare(unseal(rotated, after.value, after.keyId), secret)).toBe(0);
    // The old ring does not know the new key.
    expect(sealError(() => unseal(new KeyRing('k1', { k1 }), after.value, after.keyId)).code).toBe('UNKNOWN_KEY_ID');
  });

  it('is bound to the dead-letter AAD: a payload codec ciphertext does not unseal, nor the reverse', async () => {
    expect(SEAL_AAD.toString()).toBe('referral-engine/dead-letter/v1');
    const [encrypted] = await new AesGcmCodec(ring).encode([{ metadata: {}, data: secret }]);
    expect(sealError(() => unseal(ring, Buffer.from(encrypted!.data!), 'k1')).code).toBe('DECRYPTION_FAILED');
    const sealed = seal(ring, secret);
    await expect(
      new AesGcmCodec(ring).decode([{ metadata: { ...encrypted!.metadata }, data: sealed.value }]),
    ).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });
});
