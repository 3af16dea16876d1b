import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec, type KeyRing } from './aes-gcm-codec.js';

/**
 * The data converter every Temporal client and worker of the engine uses: the default payload
 * converter (JSON), then AES-256-GCM encryption of the payloads (workflow, child workflow and
 * activity inputs and results, signals, updates, queries). Search attributes, and memos the
 * workflow upserts, are not encrypted (the server indexes or shows them as they are): they must
 * never hold personal data.
 */
export function createDataConverter(keyRing: KeyRing): DataConverter {
  return { payloadCodecs: [new AesGcmCodec(keyRing)] };
}
