/**
 * Payload subkeys (codec/aes-gcm-codec.ts): new payloads are encrypted with an HKDF subkey of the
 * active key and say so in `encryption-kdf`; payloads stored before, encrypted with the key
 * itself and without that metadata, still decrypt; an unknown derivation is refused by name.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { AesGcmCodec, ENCRYPTED_ENCODING, gcmDecrypt, gcmEncrypt, HKDF_V1, KDF_METADATA, KEY_ID_METADATA, KeyRing } from '../../codec/aes-gcm-codec.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const value = { referralId: 'REF-1', persons: [{ name: 'Subkey Victim Zara' }] };
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null | undefined) => new TextDecoder().decode(b ?? new Uint8Array());
const PayloadMessage = proto.temporal.api.common.v1.Payload;

/** A payload as the codec wrote it before subkeys: the raw key, no encryption-kdf. */
function legacyEncrypted(key: Buffer, keyId: string, payload: Payload): Payload {
  return { metadata: { encoding: enc(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: enc(keyId) }, data: gcmEncrypt(key, PayloadMessage.encode(payload).finish()) };
}

describe('payload subkeys', () => {
  const ring = new KeyRing('k1', { k1, k2 });
  const codec = new AesGcmCodec(ring);

  it('encrypts with the HKDF payload subkey and marks it in the metadata', async () => {
    const original = defaultPayloadConverter.toPayload(value)!;
    const [encrypted] = await codec.encode([original]);
    expect(dec(encrypted!.metadata![KDF_METADATA])).toBe(HKDF_V1);
    const subkey = Buffer.from(hkdfSync('sha256', k1, 'referral-engine/key-ring/v1', 'referral-engine/payload/v1', 32));
    expect(ring.subkey('k1', 'payload')!.equals(subkey)).toBe(true);
    expect(gcmDecrypt(k1, encrypted!.data!)).toBe('AUTHENTICATION_FAILED');
    expect(gcmDecrypt(subkey, encrypted!.data!)).not.toBe('AUTHENTICATION_FAILED');
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(value);
  });

  it('still decrypts payloads stored with the raw key before subkeys, of the active and of older keys', async () => {
    const original = defaultPayloadConverter.toPayload(value)!;
    for (const [id, key] of [['k1', k1], ['k2', k2]] as const) {
      const [decoded] = await codec.decode([legacyEncrypted(key, id, original)]);
      expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(value);
    }
  });

  it('a raw-key payload marked as derived, or an unknown derivation, is refused', async () => {
    const original = defaultPayloadConverter.toPayload(value)!;
    const legacy = legacyEncrypted(k1, 'k1', original);
    await expect(codec.decode([{ ...legacy, metadata: { ...legacy.metadata, [KDF_METADATA]: enc(HKDF_V1) } }])).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    await expect(codec.decode([{ ...legacy, metadata: { ...legacy.metadata, [KDF_METADATA]: enc('scrypt/v0') } }])).rejects.toMatchObject({ code: 'UNKNOWN_KDF', keyId: 'k1' });
  });

  it('rotation is unchanged: the new active key encrypts (its own subkey), payloads of the old one decrypt', async () => {
    const original = defaultPayloadConverter.toPayload(value)!;
    const [old] = await codec.encode([original]);
    const rotated = new AesGcmCodec(ring.withActive('k2'));
    const [fresh] = await rotated.encode([original]);
    expect(dec(fresh!.metadata![KEY_ID_METADATA])).toBe('k2');
    for (const p of [old!, fresh!]) expect(defaultPayloadConverter.fromPayload((await rotated.decode([p]))[0]!)).toEqual(value);
    await expect(new AesGcmCodec(new KeyRing('k1', { k1 })).decode([fresh!])).rejects.toMatchObject({ code: 'UNKNOWN_KEY_ID' });
  });
});
