/**
 * Sealing (codec/seal.ts): dead-letter values encrypted with the payload key ring, restored byte
 * for byte; a tampered value, a wrong key or an unknown key id is refused with an error naming
 * the key id, never the key or the contents.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AesGcmCodec, gcmDecrypt, gcmEncrypt, KeyRing, PayloadEncryptionError } from '../../codec/aes-gcm-codec.js';
import { SEAL_AAD, seal, sealHeaders, unseal, unsealHeaders } from '../../codec/seal.js';

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

describe('seal subkeys (HKDF) and sealed headers', () => {
  const ring = new KeyRing('k1', { k1, k2 });

  it('seals with a subkey derived for dead letters, never the raw key nor the payload subkey', () => {
    const sealed = seal(ring, secret);
    expect(sealed.kdf).toBe('hkdf-sha256/v1');
    const subkey = ring.subkey('k1', 'dead-letter')!;
    expect(subkey.equals(Buffer.from(hkdfSync('sha256', k1, 'referral-engine/key-ring/v1', 'referral-engine/dead-letter/v1', 32)))).toBe(true);
    expect(subkey.equals(k1)).toBe(false);
    expect(subkey.equals(ring.subkey('k1', 'payload')!)).toBe(false);
    expect(gcmDecrypt(subkey, sealed.value, SEAL_AAD)).toEqual(secret);
    expect(gcmDecrypt(k1, sealed.value, SEAL_AAD)).toBe('AUTHENTICATION_FAILED');
    expect(Buffer.compare(unseal(ring, sealed.value, 'k1', 'hkdf-sha256/v1'), secret)).toBe(0);
  });

  it('still unseals dead letters sealed with the raw key (no dlq-sealed-kdf), and refuses a raw seal claimed as derived', () => {
    const old = gcmEncrypt(k1, secret, SEAL_AAD);
    expect(Buffer.compare(unseal(ring, old, 'k1'), secret)).toBe(0);
    expect(sealError(() => unseal(ring, old, 'k1', 'hkdf-sha256/v1')).code).toBe('DECRYPTION_FAILED');
    expect(sealError(() => unseal(ring, old, 'k1', 'hkdf-sha512/v9')).code).toBe('UNKNOWN_KDF');
  });

  it('rotation is unchanged: each key id has its own subkeys', () => {
    const before = seal(ring, secret);
    const rotated = ring.withActive('k2');
    const after = seal(rotated, secret);
    expect(after.keyId).toBe('k2');
    expect(Buffer.compare(unseal(rotated, before.value, 'k1', before.kdf), secret)).toBe(0);
    expect(Buffer.compare(unseal(rotated, after.value, 'k2', after.kdf), secret)).toBe(0);
    expect(rotated.subkey('k2', 'dead-letter')!.equals(ring.subkey('k1', 'dead-letter')!)).toBe(false);
  });

  it('seals headers apart from the value (their own subkey and AAD) and restores them exactly', () => {
    const headers = { ce_id: 'fia-1', ce_source: 'urn:fia:lahore', ce_subject: 'Nargis B', 'x-odd': '\u00e9\u0000 \u{1F600}' };
    const sealed = sealHeaders(ring, headers);
    expect(Buffer.from(sealed.value, 'base64').includes(Buffer.from('Nargis'))).toBe(false);
    expect(unsealHeaders(ring, sealed.value, sealed.keyId, sealed.kdf)).toEqual(headers);
    // Not interchangeable with a sealed value.
    expect(sealError(() => unseal(ring, Buffer.from(sealed.value, 'base64'), 'k1', sealed.kdf)).code).toBe('DECRYPTION_FAILED');
    expect(sealError(() => unsealHeaders(ring, seal(ring, Buffer.from('{}')).value.toString('base64'), 'k1')).code).toBe('DECRYPTION_FAILED');
    expect(sealError(() => unsealHeaders(ring, sealed.value, 'k9')).code).toBe('UNKNOWN_KEY_ID');
  });
});
