import { gcmDecrypt, gcmEncrypt, KEY_ID_PATTERN, PayloadEncryptionError, type KeyRing } from './aes-gcm-codec.js';

/**
 * Sealing: opaque bytes (a dead letter's original value) encrypted with the engine's payload key
 * ring, so they can sit on Kafka without anyone but a holder of the key reading them, and be
 * restored byte for byte. AES-256-GCM with the active key (gcmEncrypt: `iv || ciphertext || tag`),
 * authenticated with a constant AAD so a sealed value is never mistaken for a Temporal payload
 * or anything else encrypted with the same key. The key id travels beside the value (the
 * dead letter's `dlq-sealed` header), never inside it.
 */
export const SEAL_AAD = Buffer.from('referral-engine/dead-letter/v1', 'utf8');

export interface Sealed {
  /** `iv (12 bytes) || ciphertext || tag (16 bytes)`. */
  value: Buffer;
  /** The id of the key that sealed it (the ring's active key). */
  keyId: string;
}

export function seal(keyRing: KeyRing, bytes: Uint8Array): Sealed {
  const keyId = keyRing.activeKeyId;
  return { value: gcmEncrypt(keyRing.key(keyId)!, bytes, SEAL_AAD), keyId };
}

/**
 * The original bytes of a sealed value. Throws a PayloadEncryptionError naming the key id (never
 * the key, never the contents) when the ring has no such key or the value fails authentication.
 */
export function unseal(keyRing: KeyRing, value: Uint8Array, keyId: string): Buffer {
  // The id comes from a header: quote it only when it is a plain id.
  const shown = KEY_ID_PATTERN.test(keyId) ? `"${keyId}"` : '(not a valid key id)';
  const key = KEY_ID_PATTERN.test(keyId) ? keyRing.key(keyId) : undefined;
  if (!key) {
    throw new PayloadEncryptionError(
      `sealed with key id ${shown}, which this process does not have (known: ${keyRing.keyIds.join(', ')}): add that key to PAYLOAD_KEYS or PAYLOAD_KEYS_FILE`,
      'UNKNOWN_KEY_ID',
      keyId,
    );
  }
  const plaintext = gcmDecrypt(key, value, SEAL_AAD);
  if (plaintext === 'TOO_SHORT') {
    throw new PayloadEncryptionError(`sealed value (key id ${shown}) is too short to hold an iv and a tag`, 'MALFORMED_CIPHERTEXT', keyId);
  }
  if (plaintext === 'AUTHENTICATION_FAILED') {
    throw new PayloadEncryptionError(`sealed value failed authentication with key id ${shown}: it was altered, or that id now names another key`, 'DECRYPTION_FAILED', keyId);
  }
  return plaintext;
}
