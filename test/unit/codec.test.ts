/**
 * The payload codec (codec/): AES-256-GCM encryption of Temporal payloads, key rotation, key
 * loading from the environment, and the remote codec HTTP server the Web UI and CLI call.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { payloadToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesGcmCodec, ENCRYPTED_ENCODING, KDF_METADATA, KEY_ID_METADATA, KeyRing, PayloadEncryptionError, WORKFLOW_ID_METADATA, payloadWorkflowId } from '../../codec/aes-gcm-codec.js';
import { createDataConverter } from '../../codec/data-converter.js';
import { defaultPayloadKeysFile, loadKeyRing } from '../../codec/keys.js';
import { sha256Hex } from '../../api/auth.js';
import { loadEngineConfig } from '../../config/env.js';
import { ConfigError } from '../../config/errors.js';
import { detected, workflowInput } from '../support/fixtures.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const ring1 = new KeyRing('k1', { k1 });
const victimName = 'Test Victim Zainab';
const text = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const toPayload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const fromPayload = (payload: Payload): unknown => defaultPayloadConverter.fromPayload(payload);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('AesGcmCodec', () => {
  const codec = new AesGcmCodec(ring1);
  const input = workflowInput(detected());

  it('round-trips a workflow input: decode(encode(p)) gives the original payload back', async () => {
    const original = toPayload(input);
    const [encrypted] = await codec.encode([original]);
    const [decrypted] = await codec.decode([encrypted!]);
    expect(text(decrypted!.metadata!['encoding'])).toBe('json/plain');
    expect(fromPayload(decrypted!)).toEqual(input);
  });

  it('writes binary/encrypted with the key id, iv || ciphertext || tag, and no plaintext', async () => {
    const original = toPayload(input);
    const [encrypted] = await codec.encode([original]);
    expect(text(encrypted!.metadata!['encoding'])).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(text(encrypted!.metadata![KDF_METADATA])).toBe('hkdf-sha256/v1');
    expect(Object.keys(encrypted!.metadata!).sort()).toEqual(['encoding', KEY_ID_METADATA, KDF_METADATA].sort());
    const data = Buffer.from(encrypted!.data!);
    expect(data.length).toBeGreaterThan(original.data!.length + 12 + 16 - 1);
    for (const secret of [victimName, '+92-300-1234567', 'injured hand', 'json/plain']) {
      expect(data.includes(Buffer.from(secret))).toBe(false);
      expect(JSON.stringify(payloadToJSON(encrypted!))).not.toContain(Buffer.from(secret).toString('base64').slice(0, 12));
    }
  });

  it('uses a fresh iv each time: the same value never encrypts to the same bytes', async () => {
    const [a, b] = await codec.encode([toPayload('same'), toPayload('same')]);
    expect(Buffer.compare(Buffer.from(a!.data!), Buffer.from(b!.data!))).not.toBe(0);
    expect(Buffer.compare(Buffer.from(a!.data!.subarray(0, 12)), Buffer.from(b!.data!.subarray(0, 12)))).not.toBe(0);
  });

  it('passes payloads that are not encrypted through decode unchanged (histories from before encryption)', async () => {
    const plain = [toPayload(input), toPayload(null), toPayload(new Uint8Array([1, 2, 3]))];
    const decoded = await codec.decode(plain);
    expect(decoded).toEqual(plain);
    expect(decoded[0]).toBe(plain[0]);
  });

  it('names the key id it does not have', async () => {
    const [encrypted] = await new AesGcmCodec(new KeyRing('k0', { k0: randomBytes(32) })).encode([toPayload(input)]);
    const error = await codec.decode([encrypted!]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadEncryptionError);
    expect((error as PayloadEncryptionError).code).toBe('UNKNOWN_KEY_ID');
    expect((error as Error).message).toMatch(/key id "k0"/);
    expect((error as Error).message).not.toContain(victimName);
  });

  it('rotates: encrypt with k1, make k2 active keeping k1, and old payloads still decrypt while new ones use k2', async () => {
    const [old] = await new AesGcmCodec(ring1).encode([toPayload(input)]);
    const rotated = new AesGcmCodec(new KeyRing('k1', { k1, k2 }).withActive('k2'));
    expect(fromPayload((await rotated.decode([old!]))[0]!)).toEqual(input);
    const [fresh] = await rotated.encode([toPayload(input)]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('k2');
    expect(fromPayload((await rotated.decode([fresh!]))[0]!)).toEqual(input);
    // A process that only has k1 cannot read what k2 encrypted, and says which key it lacks.
    await expect(new AesGcmCodec(ring1).decode([fresh!])).rejects.toThrow(/"k2"/);
  });

  it('rejects tampering: any flipped byte (iv, ciphertext or tag) fails authentication', async () => {
    const [encrypted] = await codec.encode([toPayload(input)]);
    const data = encrypted!.data!;
    for (const at of [0, 11, 12, Math.floor(data.length / 2), data.length - 1]) {
      const tampered = Buffer.from(data);
      tampered[at]! ^= 0x01;
      await expect(codec.decode([{ ...encrypted!, data: tampered }]), `byte ${at}`).rejects.toThrow(/failed authentication with key id "k1"/);
    }
    await expect(codec.decode([{ ...encrypted!, data: data.subarray(0, 20) }])).rejects.toThrow(/too short/);
    // Same key id, other key bytes: also refused.
    await expect(new AesGcmCodec(new KeyRing('k1', { k1: k2 })).decode([encrypted!])).rejects.toThrow(/failed authentication/);
  });

  it('names the workflow a payload belongs to (from the serialization context) and binds that name to the ciphertext', async () => {
    const workflowId = `referral-${input.referral.referralId}-justice`;
    const [forWorkflow] = await codec.encode([toPayload(input)], { type: 'workflow', namespace: 'default', workflowId });
    expect(payloadWorkflowId(forWorkflow!)).toBe(workflowId);
    expect(fromPayload((await codec.decode([forWorkflow!]))[0]!)).toEqual(input);
    // An activity's payloads carry the workflow that scheduled it.
    const [forActivity] = await codec.encode([toPayload(input)], { type: 'activity', namespace: 'default', workflowId, activityId: '1', isLocal: false });
    expect(payloadWorkflowId(forActivity!)).toBe(workflowId);
    // Without a context (the codec server's encode, older SDK paths): no name, and still a round trip.
    const [untagged] = await codec.encode([toPayload(input)]);
    expect(untagged!.metadata![WORKFLOW_ID_METADATA]).toBeUndefined();
    expect(fromPayload((await codec.decode([untagged!]))[0]!)).toEqual(input);
    // Moved to another referral's workflow, or stripped of its name: authentication fails.
    const moved = { ...forWorkflow!, metadata: { ...forWorkflow!.metadata, [WORKFLOW_ID_METADATA]: new TextEncoder().encode('referral-OTHER-2026-1') } };
    await expect(codec.decode([moved])).rejects.toThrow(/failed authentication .*moved to another workflow/);
    const { [WORKFLOW_ID_METADATA]: _dropped, ...rest } = forWorkflow!.metadata!;
    await expect(codec.decode([{ ...forWorkflow!, metadata: rest }])).rejects.toThrow(/failed authentication/);
  });

  it('keeps key bytes out of JSON and inspect output', async () => {
    const ring = new KeyRing('k1', { k1, k2 });
    const { inspect } = await import('node:util');
    for (const shown of [JSON.stringify(ring), inspect(ring), JSON.stringify({ ring })]) {
      expect(shown).toContain('k1');
      expect(shown).not.toContain(k1.toString('base64'));
      expect(shown).not.toContain(k1.toString('hex'));
    }
  });

  it('is what createDataConverter puts in the DataConverter', () => {
    const converter = createDataConverter(ring1);
    expect(converter.payloadCodecs).toHaveLength(1);
    expect(converter.payloadCodecs![0]).toBeInstanceOf(AesGcmCodec);
  });
});

describe('payload keys from the environment', () => {
  const b64 = (key: Buffer) => key.toString('base64');
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'payload-keys-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const ringFrom = (env: NodeJS.ProcessEnv): KeyRing => loadKeyRing(loadEngineConfig(env).payloadKeys);

  it('reads PAYLOAD_KEYS: the first key is active unless PAYLOAD_ACTIVE_KEY says otherwise', () => {
    const ring = ringFrom({ PAYLOAD_KEYS: `k2:${b64(k2)}, k1:${b64(k1)}` });
    expect(ring.activeKeyId).toBe('k2');
    expect(ring.keyIds).toEqual(['k2', 'k1']);
    expect(ring.key('k1')).toEqual(k1);
    expect(ringFrom({ PAYLOAD_KEYS: `k2:${b64(k2)},k1:${b64(k1)}`, PAYLOAD_ACTIVE_KEY: 'k1' }).activeKeyId).toBe('k1');
    // url-safe base64 is accepted too
    expect(ringFrom({ PAYLOAD_KEYS: `k1:${k1.toString('base64url')}` }).key('k1')).toEqual(k1);
  });

  it('reads PAYLOAD_KEYS_FILE, with the file active key or PAYLOAD_ACTIVE_KEY', () => {
    const file = join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify({ active: 'k2', keys: { k1: b64(k1), k2: b64(k2) } }));
    const ring = ringFrom({ PAYLOAD_KEYS_FILE: file });
    expect(ring.activeKeyId).toBe('k2');
    expect(ring.key('k1')).toEqual(k1);
    expect(ringFrom({ PAYLOAD_KEYS_FILE: file, PAYLOAD_ACTIVE_KEY: 'k1' }).activeKeyId).toBe('k1');
  });

  it('defaults to <repo>/.stack/payload-keys.json (generated by scripts/stack.sh install)', () => {
    const config = loadEngineConfig({});
    expect(config.payloadKeys).toEqual({ source: 'PAYLOAD_KEYS_FILE', file: defaultPayloadKeysFile, isDefault: true });
    expect(defaultPayloadKeysFile).toMatch(/[/\\]\.stack[/\\]payload-keys\.json$/);
  });

  it('refuses to start without any key, saying how to configure one', () => {
    const err = configError(() => loadKeyRing({ source: 'PAYLOAD_KEYS_FILE', file: join(dir, 'absent.json'), isDefault: true }));
    expect(err.message).toMatch(/no payload encryption key is configured: set PAYLOAD_KEYS .* or PAYLOAD_KEYS_FILE/);
    expect(err.message).toContain('npm run stack -- install');
    const explicit = configError(() => ringFrom({ PAYLOAD_KEYS_FILE: join(dir, 'absent.json') }));
    expect(explicit.message).toMatch(/PAYLOAD_KEYS_FILE \(.*absent\.json\): the file does not exist/);
  });

  it('names the variable and the key id of a key that is not 32 bytes of base64, never the key', () => {
    const short = randomBytes(16).toString('base64');
    const err = configError(() => loadEngineConfig({ PAYLOAD_KEYS: `good:${b64(k1)},short:${short},bad:not*base64`, LOG_LEVEL: 'loud' }));
    expect(err.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PAYLOAD_KEYS: key "short" is not 32 bytes of base64 \(it decodes to 16 bytes\)/),
        expect.stringMatching(/^PAYLOAD_KEYS: key "bad" is not base64/),
        expect.stringMatching(/^LOG_LEVEL: /),
      ]),
    );
    expect(err.message).not.toContain(short);
    expect(err.message).not.toContain(b64(k1));
    expect(err.message).not.toContain('not*base64');
  });

  it('names every bad payload or codec variable in one ConfigError', () => {
    const err = configError(() =>
      loadEngineConfig({
        PAYLOAD_KEYS: `k1:${b64(k1)},nocolon${b64(k2)}`,
        PAYLOAD_ACTIVE_KEY: 'k9',
        PAYLOAD_KEYS_FILE: '/etc/keys.json',
        CODEC_SERVER_PORT: '70000',
        CODEC_AUTH_TOKENS: 'secret-token',
        ENGINE_ROLES: 'worker,codecs',
      }),
    );
    const named = new Set(err.problems.map((p) => p.split(/[.:]/)[0]));
    expect(named).toEqual(new Set(['PAYLOAD_KEYS', 'PAYLOAD_ACTIVE_KEY', 'PAYLOAD_KEYS_FILE', 'CODEC_SERVER_PORT', 'CODEC_AUTH_TOKENS', 'ENGINE_ROLES']));
    expect(err.message).toContain('PAYLOAD_ACTIVE_KEY: there is no key "k9" in PAYLOAD_KEYS');
    expect(err.message).toContain('set either PAYLOAD_KEYS or PAYLOAD_KEYS_FILE');
    expect(err.message).toMatch(/PAYLOAD_KEYS: entry 2 is not id:base64key/);
    expect(err.message).not.toContain(b64(k2));
    expect(err.message).not.toContain('secret-token');
  });

  it('names the file, the variable and the key id of a bad key file', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ active: 'k3', keys: { k1: b64(k1), k2: randomBytes(31).toString('base64') } }));
    const err = configError(() => ringFrom({ PAYLOAD_KEYS_FILE: file }));
    expect(err.problems).toEqual([expect.stringMatching(/^PAYLOAD_KEYS_FILE \(.*bad\.json\): keys\.k2: key "k2" is not 32 bytes of base64/)]);
    writeFileSync(file, JSON.stringify({ active: 'k3', keys: { k1: b64(k1) } }));
    expect(configError(() => ringFrom({ PAYLOAD_KEYS_FILE: file })).message).toMatch(/active: there is no key "k3"/);
    expect(configError(() => ringFrom({ PAYLOAD_KEYS_FILE: file, PAYLOAD_ACTIVE_KEY: 'k4' })).message).toMatch(/PAYLOAD_ACTIVE_KEY: there is no key "k4"/);
    writeFileSync(file, '{ "active": ');
    expect(configError(() => ringFrom({ PAYLOAD_KEYS_FILE: file })).message).toMatch(/PAYLOAD_KEYS_FILE \(.*\): the file is not valid JSON/);
    if (process.getuid?.() !== 0) {
      writeFileSync(file, '{}');
      chmodSync(file, 0o000);
      expect(configError(() => ringFrom({ PAYLOAD_KEYS_FILE: file })).message).toMatch(/cannot be read \(EACCES\)/);
    }
  });

  it('reads the codec server settings: the UI origin, the sign-in session lifetime, the audit topic', () => {
    const config = loadEngineConfig({ CODEC_SERVER_PORT: '0', CODEC_SESSION_TTL: '900', TEMPORAL_UI_URL: 'http://ui.example:8080/x' });
    expect(config.codecServer).toEqual({ host: '127.0.0.1', port: 0, uiOrigin: 'http://ui.example:8080', sessionTtlSeconds: 900 });
    expect(loadEngineConfig({}).codecServer).toMatchObject({ port: 8234, sessionTtlSeconds: 3600 });
    expect(loadEngineConfig({}).roles).toEqual(['worker', 'bridge', 'codec', 'api']);
    expect(loadEngineConfig({}).kafka.topics.audit).toBe('referrals.audit');
    expect(loadEngineConfig({ KAFKA_TOPIC_AUDIT: 'x.audit' }).kafka.topics.audit).toBe('x.audit');
    // Every caller is authenticated now: the server may listen beyond loopback (behind TLS).
    expect(loadEngineConfig({ CODEC_SERVER_HOST: '0.0.0.0' }).codecServer.host).toBe('0.0.0.0');
    expect(configError(() => loadEngineConfig({ CODEC_SESSION_TTL: '10' })).problems).toEqual([expect.stringMatching(/^CODEC_SESSION_TTL: /)]);
  });

  it('refuses CODEC_AUTH_TOKENS, which is gone, saying what replaces it and never echoing its value', () => {
    const digest = sha256Hex('token-1');
    const err = configError(() => loadEngineConfig({ CODEC_AUTH_TOKENS: digest }));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^CODEC_AUTH_TOKENS: removed: the codec server authenticates callers as the API does/);
    expect(err.problems[0]).toContain('API_IDENTITIES_FILE');
    expect(err.problems[0]).toContain('/codec/session');
    expect(err.problems[0]).toContain('--codec-auth "Bearer <API key>"');
    expect(err.message).not.toContain(digest);
  });
});
