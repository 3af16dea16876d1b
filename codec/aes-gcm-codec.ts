import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import type { Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
// CommonJS package: the default import is its module.exports.
import proto from '@temporalio/proto';

/** `encoding` metadata of a payload this codec encrypted. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata naming the key a payload was encrypted with. */
export const KEY_ID_METADATA = 'encryption-key-id';
/**
 * Metadata naming how the AES key was derived from the ring's key: `hkdf-sha256/v1` (a subkey per
 * purpose, see KeyRing.subkey). Absent: the ring's key itself, as payloads were encrypted before
 * subkeys; those still decrypt.
 */
export const KDF_METADATA = 'encryption-kdf';
export const HKDF_V1 = 'hkdf-sha256/v1';
/**
 * Metadata naming the workflow a payload belongs to (from the SDK's serialization context), so a
 * codec server can tell which referral a payload is part of without decrypting it. It is bound to
 * the ciphertext as associated data: moved to another workflow's id, the payload fails to decrypt.
 * Absent (payloads from before it, or encoded without a context): no associated data.
 */
export const WORKFLOW_ID_METADATA = 'encryption-workflow-id';
/** Workflow ids are at most 1000 characters (Temporal's default limit); anything else is not tagged. */
const MAX_WORKFLOW_ID = 1000;

/** What a subkey is for: each purpose gets its own key, derived from each key of the ring. */
export type SubkeyPurpose = 'payload' | 'dead-letter' | 'dead-letter-headers';
const HKDF_SALT = Buffer.from('referral-engine/key-ring/v1', 'utf8');
const HKDF_INFO: Record<SubkeyPurpose, Buffer> = {
  payload: Buffer.from('referral-engine/payload/v1', 'utf8'),
  'dead-letter': Buffer.from('referral-engine/dead-letter/v1', 'utf8'),
  'dead-letter-headers': Buffer.from('referral-engine/dead-letter-headers/v1', 'utf8'),
};
export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

/** Key ids travel in payload metadata and in environment variables: keep them plain. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const PayloadMessage = proto.temporal.api.common.v1.Payload;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Thrown when a payload cannot be encrypted or decrypted; never carries payload contents. */
export class PayloadEncryptionError extends Error {
  override readonly name = 'PayloadEncryptionError';
  constructor(
    message: string,
    readonly code: 'UNKNOWN_KEY_ID' | 'MISSING_KEY_ID' | 'DECRYPTION_FAILED' | 'MALFORMED_CIPHERTEXT' | 'UNKNOWN_KDF',
    readonly keyId?: string,
  ) {
    super(message);
  }
}

/**
 * AES-256-GCM with a random 12-byte iv: `iv || ciphertext || tag (16 bytes)`. `aad`, when given,
 * is authenticated but not stored: decryption needs the same one. The one place the engine
 * encrypts: the payload codec and the dead-letter seal (codec/seal.ts) both use it.
 */
export function gcmEncrypt(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  if (aad) cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()]);
}

/**
 * Reverses gcmEncrypt: the plaintext, or why not: 'TOO_SHORT' (no room for an iv and a tag) or
 * 'AUTHENTICATION_FAILED' (altered, another key, or another aad). Never throws.
 */
export function gcmDecrypt(key: Uint8Array, data: Uint8Array, aad?: Uint8Array): Buffer | 'TOO_SHORT' | 'AUTHENTICATION_FAILED' {
  if (data.length < IV_BYTES + TAG_BYTES) return 'TOO_SHORT';
  const iv = data.subarray(0, IV_BYTES);
  const tag = data.subarray(data.length - TAG_BYTES);
  const ciphertext = data.subarray(IV_BYTES, data.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv);
    decipher.setAuthTag(tag);
    if (aad) decipher.setAAD(aad);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return 'AUTHENTICATION_FAILED';
  }
}

/**
 * The AES-256 keys the codec knows: one active key encrypts, every key (the active one and
 * older ones kept for rotation) decrypts. Key bytes never appear in `JSON.stringify`, `inspect`
 * or log output: only the ids do.
 */
export class KeyRing {
  readonly activeKeyId: string;
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #subkeys = new Map<string, Buffer>();

  constructor(activeKeyId: string, keys: Iterable<readonly [string, Uint8Array]> | Record<string, Uint8Array>) {
    const entries: Array<readonly [string, Uint8Array]> = Symbol.iterator in keys ? [...(keys as Iterable<readonly [string, Uint8Array]>)] : Object.entries(keys);
    const map = new Map<string, Buffer>();
    for (const [id, key] of entries) {
      if (!KEY_ID_PATTERN.test(id)) throw new Error(`payload key id "${id}" is invalid: use 1-64 of A-Z a-z 0-9 . _ -`);
      if (key.length !== KEY_BYTES) throw new Error(`payload key "${id}" must be ${KEY_BYTES} bytes, not ${key.length}`);
      if (map.has(id)) throw new Error(`payload key id "${id}" appears twice`);
      map.set(id, Buffer.from(key));
    }
    if (!map.has(activeKeyId)) throw new Error(`the active payload key "${activeKeyId}" is not one of the keys (${[...map.keys()].join(', ') || 'none'})`);
    this.activeKeyId = activeKeyId;
    this.#keys = map;
  }

  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  key(id: string): Buffer | undefined {
    return this.#keys.get(id);
  }

  /**
   * The key for one purpose derived from the ring's key `id` (HKDF-SHA256, RFC 5869: salt
   * `referral-engine/key-ring/v1`, info `referral-engine/<purpose>/v1`, 32 bytes), so payloads
   * and dead-letter seals never share an AES key. Rotation is unchanged: each key id has its subkeys.
   */
  subkey(id: string, purpose: SubkeyPurpose): Buffer | undefined {
    const cacheKey = `${purpose}\u0000${id}`;
    const cached = this.#subkeys.get(cacheKey);
    if (cached) return cached;
    const key = this.#keys.get(id);
    if (!key) return undefined;
    const derived = Buffer.from(hkdfSync('sha256', key, HKDF_SALT, HKDF_INFO[purpose], KEY_BYTES));
    this.#subkeys.set(cacheKey, derived);
    return derived;
  }

  /** The same keys with another one active: how a rotation starts encrypting with the new key. */
  withActive(activeKeyId: string): KeyRing {
    return new KeyRing(activeKeyId, this.#keys);
  }

  toJSON(): { activeKeyId: string; keyIds: string[] } {
    return { activeKeyId: this.activeKeyId, keyIds: this.keyIds };
  }

  [inspect.custom](): string {
    return `KeyRing { active: ${this.activeKeyId}, keys: [${this.keyIds.join(', ')}] }`;
  }
}

/**
 * A Temporal PayloadCodec encrypting every payload with AES-256-GCM. The encrypted payload has
 * metadata `encoding: binary/encrypted`, `encryption-key-id: <id>` and `encryption-kdf:
 * hkdf-sha256/v1` (the AES key is the ring key's `payload` subkey), and data
 * `iv (12 bytes) || ciphertext || tag (16 bytes)` where the plaintext is the original payload
 * (metadata and data) encoded as a `temporal.api.common.v1.Payload` protobuf.
 *
 * Decoding passes payloads that are not `binary/encrypted` through unchanged, so histories
 * written before encryption was turned on still replay; and decrypts payloads without
 * `encryption-kdf` (written before subkeys) with the ring's key itself.
 */
export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly keyRing: KeyRing) {}

  async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const workflowId = context?.workflowId;
    const tag = workflowId && workflowId.length <= MAX_WORKFLOW_ID ? workflowId : undefined;
    return payloads.map((payload) => this.encrypt(payload, tag));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  private encrypt(payload: Payload, workflowId: string | undefined): Payload {
    const keyId = this.keyRing.activeKeyId;
    const key = this.keyRing.subkey(keyId, 'payload')!;
    const plaintext = PayloadMessage.encode(payload).finish();
    return {
      metadata: {
        encoding: textEncoder.encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: textEncoder.encode(keyId),
        [KDF_METADATA]: textEncoder.encode(HKDF_V1),
        ...(workflowId !== undefined ? { [WORKFLOW_ID_METADATA]: textEncoder.encode(workflowId) } : {}),
      },
      data: gcmEncrypt(key, plaintext, workflowId !== undefined ? workflowAad(workflowId) : undefined),
    };
  }

  private decrypt(payload: Payload): Payload {
    if (!isEncryptedPayload(payload)) return payload;
    const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
    if (!keyIdBytes) throw new PayloadEncryptionError(`encrypted payload has no "${KEY_ID_METADATA}" metadata`, 'MISSING_KEY_ID');
    const keyId = textDecoder.decode(keyIdBytes);
    const kdfBytes = payload.metadata?.[KDF_METADATA];
    const kdf = kdfBytes ? textDecoder.decode(kdfBytes) : undefined;
    if (kdf !== undefined && kdf !== HKDF_V1) {
      throw new PayloadEncryptionError(`encrypted payload (key id "${keyId}") names an unknown key derivation in "${KDF_METADATA}" (known: ${HKDF_V1})`, 'UNKNOWN_KDF', keyId);
    }
    // Payloads from before subkeys (no encryption-kdf) were encrypted with the ring's key itself.
    const key = kdf === HKDF_V1 ? this.keyRing.subkey(keyId, 'payload') : this.keyRing.key(keyId);
    if (!key) {
      throw new PayloadEncryptionError(
        `payload was encrypted with key id "${keyId}", which this process does not have (known: ${this.keyRing.keyIds.join(', ')}): add that key to PAYLOAD_KEYS or PAYLOAD_KEYS_FILE`,
        'UNKNOWN_KEY_ID',
        keyId,
      );
    }
    const workflowId = payloadWorkflowId(payload);
    const plaintext = gcmDecrypt(key, payload.data ?? new Uint8Array(), workflowId !== undefined ? workflowAad(workflowId) : undefined);
    if (plaintext === 'TOO_SHORT') {
      throw new PayloadEncryptionError(`encrypted payload (key id "${keyId}") is too short to hold an iv and a tag`, 'MALFORMED_CIPHERTEXT', keyId);
    }
    if (plaintext === 'AUTHENTICATION_FAILED') {
      throw new PayloadEncryptionError(
        `encrypted payload failed authentication with key id "${keyId}": it was altered (or moved to another workflow's id), or that id now names another key`,
        'DECRYPTION_FAILED',
        keyId,
      );
    }
    try {
      return PayloadMessage.decode(plaintext);
    } catch {
      throw new PayloadEncryptionError(`decrypted payload (key id "${keyId}") is not a protobuf Payload`, 'MALFORMED_CIPHERTEXT', keyId);
    }
  }
}

/** The workflow an encrypted payload says it belongs to (metadata, readable without the key), if any. */
export function payloadWorkflowId(payload: Payload): string | undefined {
  const bytes = payload.metadata?.[WORKFLOW_ID_METADATA];
  return bytes ? textDecoder.decode(bytes) : undefined;
}

/** Whether a payload is one this codec encrypted. */
export function isEncryptedPayload(payload: Payload): boolean {
  const encoding = payload.metadata?.['encoding'];
  return encoding !== undefined && encoding !== null && textDecoder.decode(encoding) === ENCRYPTED_ENCODING;
}

function workflowAad(workflowId: string): Uint8Array {
  return textEncoder.encode(`referral-engine/payload/v1/workflow-id/${workflowId}`);
}
