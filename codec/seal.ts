import { gcmDecrypt, gcmEncrypt, HKDF_V1, KEY_ID_PATTERN, PayloadEncryptionError, type KeyRing, type SubkeyPurpose } from './aes-gcm-codec.js';

/**
 * Sealing: opaque bytes (a dead letter's original value, and its original headers) encrypted with
 * the engine's payload key ring, so they can sit on Kafka without anyone but a holder of the key
 * reading them, and be restored byte for byte. AES-256-GCM (gcmEncrypt: `iv || ciphertext || tag`)
 * with a subkey of the active key derived for this purpose alone (HKDF, KeyRing.subkey: never the
 * key that encrypts Temporal payloads), authenticated with a constant AAD so a sealed value is
 * never mistaken for a Temporal payload or a sealed header set. The key id and the derivation
 * travel beside the value (the dead letter's `dlq-sealed` and `dlq-sealed-kdf` headers), never
 * inside it.
 */
export const SEAL_AAD = Buffer.from('referral-engine/dead-letter/v1', 'utf8');
export const SEAL_HEADERS_AAD = Buffer.from('referral-engine/dead-letter-headers/v1', 'utf8');
/** The derivation new seals use (the `dlq-sealed-kdf` header). Absent on a dead letter: sealed with the ring's key itself. */
export const SEAL_KDF = HKDF_V1;

export interface Sealed {
  /** `iv (12 bytes) || ciphertext || tag (16 bytes)`. */
  value: Buffer;
  /** The id of the key that sealed it (the ring's active key). */
  keyId: string;
  /** How the sealing key was derived from it. */
  kdf: typeof SEAL_KDF;
}

export function seal(keyRing: KeyRing, bytes: Uint8Array): Sealed {
  return sealWith(keyRing, bytes, 'dead-letter', SEAL_AAD);
}

/**
 * The original bytes of a sealed value. `kdf` is the dead letter's `dlq-sealed-kdf`: `hkdf-sha256/v1`
 * for the subkey; absent for a dead letter sealed before subkeys (the ring's key itself; the
 * subkey is tried too, for a caller that does not pass the header). Throws a
 * PayloadEncryptionError naming the key id (never the key, never the contents) when the ring has
 * no such key, the derivation is unknown, or the value fails authentication.
 */
export function unseal(keyRing: KeyRing, value: Uint8Array, keyId: string, kdf?: string): Buffer {
  return unsealWith(keyRing, value, keyId, kdf, 'dead-letter', SEAL_AAD, 'sealed value');
}

/** A dead letter's original headers, sealed as one value (JSON of the header strings), base64 for a header of its own. */
export function sealHeaders(keyRing: KeyRing, headers: Record<string, string>): { value: string; keyId: string; kdf: typeof SEAL_KDF } {
  const sealed = sealWith(keyRing, Buffer.from(JSON.stringify(headers), 'utf8'), 'dead-letter-headers', SEAL_HEADERS_AAD);
  return { value: sealed.value.toString('base64'), keyId: sealed.keyId, kdf: sealed.kdf };
}

/** The headers sealHeaders sealed, exactly; a PayloadEncryptionError (naming the key id) when they cannot be opened. */
export function unsealHeaders(keyRing: KeyRing, value: string, keyId: string, kdf?: string): Record<string, string> {
  const opened = unsealWith(keyRing, Buffer.from(value, 'base64'), keyId, kdf ?? SEAL_KDF, 'dead-letter-headers', SEAL_HEADERS_AAD, 'sealed headers');
  let headers: unknown;
  try {
    headers = JSON.parse(opened.toString('utf8'));
  } catch {
    headers = undefined;
  }
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || Object.values(headers).some((v) => typeof v !== 'string')) {
    throw new PayloadEncryptionError(`sealed headers (key id ${shownId(keyId)}) are not an object of header strings`, 'MALFORMED_CIPHERTEXT', keyId);
  }
  return headers as Record<string, string>;
}

function sealWith(keyRing: KeyRing, bytes: Uint8Array, purpose: SubkeyPurpose, aad: Buffer): Sealed {
  const keyId = keyRing.activeKeyId;
  return { value: gcmEncrypt(keyRing.subkey(keyId, purpose)!, bytes, aad), keyId, kdf: SEAL_KDF };
}

/** The id comes from a header: quoted only when it is a plain id. */
function shownId(keyId: string): string {
  return KEY_ID_PATTERN.test(keyId) ? `"${keyId}"` : '(not a valid key id)';
}

function unsealWith(keyRing: KeyRing, value: Uint8Array, keyId: string, kdf: string | undefined, purpose: SubkeyPurpose, aad: Buffer, what: string): Buffer {
  const shown = shownId(keyId);
  const known = KEY_ID_PATTERN.test(keyId) && keyRing.key(keyId) !== undefined;
  if (!known) {
    throw new PayloadEncryptionError(
      `${what} with key id ${shown}, which this process does not have (known: ${keyRing.keyIds.join(', ')}): add that key to PAYLOAD_KEYS or PAYLOAD_KEYS_FILE`,
      'UNKNOWN_KEY_ID',
      keyId,
    );
  }
  if (kdf !== undefined && kdf !== SEAL_KDF) {
    throw new PayloadEncryptionError(`${what} (key id ${shown}) names an unknown key derivation (dlq-sealed-kdf; known: ${SEAL_KDF})`, 'UNKNOWN_KDF', keyId);
  }
  // Sealed before subkeys: the ring's key itself; then the subkey, for callers without the header.
  const candidates = kdf === SEAL_KDF ? [keyRing.subkey(keyId, purpose)!] : [keyRing.key(keyId)!, keyRing.subkey(keyId, purpose)!];
  let plaintext: Buffer | 'TOO_SHORT' | 'AUTHENTICATION_FAILED' = 'AUTHENTICATION_FAILED';
  for (const key of candidates) {
    plaintext = gcmDecrypt(key, value, aad);
    if (plaintext !== 'AUTHENTICATION_FAILED') break;
  }
  if (plaintext === 'TOO_SHORT') {
    throw new PayloadEncryptionError(`${what} (key id ${shown}) is too short to hold an iv and a tag`, 'MALFORMED_CIPHERTEXT', keyId);
  }
  if (plaintext === 'AUTHENTICATION_FAILED') {
    throw new PayloadEncryptionError(`${what} failed authentication with key id ${shown}: it was altered, or that id now names another key`, 'DECRYPTION_FAILED', keyId);
  }
  return plaintext;
}
