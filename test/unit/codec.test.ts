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
import { sha256Hex, startCodecServer, type CodecServer } from '../../codec/server.js';
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
const silent = { debug() {}, info() {}, warn() {}, error() {} };

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

  it('reads the codec server settings, and refuses a non-loopback host without tokens', () => {
    const digest = sha256Hex('token-1');
    const config = loadEngineConfig({ CODEC_SERVER_PORT: '0', CODEC_AUTH_TOKENS: digest.toUpperCase(), TEMPORAL_UI_URL: 'http://ui.example:8080/x' });
    expect(config.codecServer).toEqual({ host: '127.0.0.1', port: 0, authTokenDigests: [digest], uiOrigin: 'http://ui.example:8080' });
    expect(loadEngineConfig({}).codecServer.port).toBe(8234);
    expect(loadEngineConfig({}).roles).toEqual(['worker', 'bridge', 'codec', 'api']);
    expect(configError(() => loadEngineConfig({ CODEC_SERVER_HOST: '0.0.0.0' })).problems).toEqual([expect.stringMatching(/^CODEC_SERVER_HOST: .*CODEC_AUTH_TOKENS/)]);
    expect(() => loadEngineConfig({ CODEC_SERVER_HOST: '0.0.0.0', CODEC_AUTH_TOKENS: digest })).not.toThrow();
  });
});

describe('codec server (remote codec protocol over HTTP)', () => {
  const uiOrigin = 'http://127.0.0.1:8233';
  const token = 'codec-token-4f1c9e2b7a';
  const codec = new AesGcmCodec(ring1);
  let open: CodecServer;
  let authed: CodecServer;
  let small: CodecServer;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    open = await startCodecServer({ codec, port: 0, uiOrigin, logger: silent });
    authed = await startCodecServer({ codec, port: 0, uiOrigin, authTokenDigests: [sha256Hex('other'), sha256Hex(token)], logger: silent });
    small = await startCodecServer({ codec, port: 0, uiOrigin, maxBodyBytes: 1024, logger: silent });
  });
  afterAll(async () => {
    await Promise.all([open?.close(), authed?.close(), small?.close()]);
  });

  const post = (server: CodecServer, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.endpoint}${path}`, { method: 'POST', headers: { ...json, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('listens on loopback at <host>:<port>/codec', () => {
    expect(open.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/codec$/);
  });

  it('encodes and decodes over HTTP: the round trip gives the payloads back, the encoded ones are ciphertext', async () => {
    const input = workflowInput(detected());
    const payloads = [payloadToJSON(toPayload(input)), payloadToJSON(toPayload('second'))];
    const encoded = await post(open, '/encode', { payloads }, { 'x-namespace': 'default' });
    expect(encoded.status).toBe(200);
    expect(encoded.headers.get('content-type')).toBe('application/json');
    const encodedBody = (await encoded.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    expect(encodedBody.payloads).toHaveLength(2);
    expect(Buffer.from(encodedBody.payloads[0]!.metadata['encoding']!, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(encodedBody.payloads[0]!.data, 'base64').includes(Buffer.from(victimName))).toBe(false);

    const decoded = await post(open, '/decode', encodedBody);
    expect(decoded.status).toBe(200);
    expect(await decoded.json()).toEqual({ payloads });
  });

  it('decodes what the engine codec encrypted, and passes plain payloads through', async () => {
    const [encrypted] = await codec.encode([toPayload({ name: victimName })]);
    const plain = payloadToJSON(toPayload(42));
    const res = await post(open, '/decode', { payloads: [payloadToJSON(encrypted!), plain] });
    const body = (await res.json()) as { payloads: Array<{ data: string }> };
    expect(JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString())).toEqual({ name: victimName });
    expect(body.payloads[1]).toEqual(plain);
  });

  it('answers the CORS preflight of the Temporal UI origin, and refuses other origins', async () => {
    const preflight = (origin: string) =>
      fetch(`${open.endpoint}/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
      });
    const ok = await preflight(uiOrigin);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(ok.headers.get('access-control-allow-methods')).toBe('POST');
    expect(ok.headers.get('access-control-allow-headers')).toBe('content-type, x-namespace, authorization');
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    // The operator may type localhost instead of 127.0.0.1: same UI.
    expect((await preflight('http://localhost:8233')).headers.get('access-control-allow-origin')).toBe('http://localhost:8233');

    for (const evil of ['http://evil.example', 'http://127.0.0.1:9999', 'null']) {
      const refused = await preflight(evil);
      expect(refused.status, evil).toBe(403);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
      const posted = await post(open, '/decode', { payloads: [] }, { origin: evil });
      expect(posted.status).toBe(403);
      expect(await posted.json()).toEqual({ error: { code: 'ORIGIN_NOT_ALLOWED' } });
    }
    // The UI's own POST carries the CORS headers; the CLI sends no Origin and is accepted.
    const fromUi = await post(open, '/decode', { payloads: [] }, { origin: uiOrigin });
    expect(fromUi.status).toBe(200);
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect((await post(open, '/decode', { payloads: [] })).status).toBe(200);
  });

  it('requires a bearer token whose sha256 is configured, when tokens are configured', async () => {
    const body = { payloads: [payloadToJSON(toPayload('x'))] };
    const missing = await post(authed, '/encode', body);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect((await post(authed, '/encode', body, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(authed, '/encode', body, { authorization: `Basic ${token}` })).status).toBe(401);
    expect((await post(authed, '/encode', body, { authorization: `Bearer ${sha256Hex(token)}` })).status).toBe(401);
    const right = await post(authed, '/encode', body, { authorization: `Bearer ${token}` });
    expect(right.status).toBe(200);
    expect(((await right.json()) as { payloads: unknown[] }).payloads).toHaveLength(1);
    expect((await post(authed, '/decode', { payloads: [] }, { authorization: 'Bearer other' })).status).toBe(200);
    // The preflight carries no credentials: it is answered without them.
    const preflight = await fetch(`${authed.endpoint}/decode`, { method: 'OPTIONS', headers: { origin: uiOrigin, 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
  });

  it('refuses to listen beyond loopback without tokens', async () => {
    await expect(startCodecServer({ codec, port: 0, host: '0.0.0.0', uiOrigin, logger: silent })).rejects.toThrow(/without authentication/);
  });

  it('takes `{}` (proto3 JSON of an empty list, as the temporal CLI posts it for a query without arguments) as no payloads', async () => {
    for (const path of ['/encode', '/decode']) {
      const res = await post(open, path, {});
      expect(res.status, path).toBe(200);
      expect(await res.json(), path).toEqual({ payloads: [] });
    }
  });

  it('answers 413 to a body over the limit', async () => {
    const big = { payloads: [{ metadata: {}, data: Buffer.alloc(4096).toString('base64') }] };
    const res = await post(small, '/decode', big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BODY_TOO_LARGE');
    // The default limit is 4 MiB.
    const huge = JSON.stringify({ payloads: [{ data: Buffer.alloc(3.2 * 1024 * 1024).toString('base64') }] });
    expect((await post(open, '/decode', huge)).status).toBe(413);
  });

  it('answers 400 with the field at fault to bad JSON or a bad shape, 404 to other paths, 405 to other methods', async () => {
    const bad = await post(open, '/decode', '{"payloads": [');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'INVALID_JSON', field: '(body)' } });
    const shape = await post(open, '/decode', { payloads: [{ metadata: { encoding: 'not base64!' } }] });
    expect(shape.status).toBe(400);
    expect(await shape.json()).toMatchObject({ error: { code: 'INVALID_PAYLOADS', field: 'payloads[0].metadata.encoding' } });
    expect(((await (await post(open, '/decode', { nothing: 1 })).json()) as { error: { field: string } }).error.field).toBe('nothing');
    expect(((await (await post(open, '/decode', { payloads: 'x' })).json()) as { error: { field: string } }).error.field).toBe('payloads');
    for (const path of ['/decodes', '/../decode', '']) expect((await post(open, path, { payloads: [] })).status, path).toBe(404);
    expect((await fetch(`${open.endpoint.replace('/codec', '')}/decode`, { method: 'POST', headers: json, body: '{"payloads":[]}' })).status).toBe(404);
    const get = await fetch(`${open.endpoint}/decode`);
    expect(get.status).toBe(405);
  });

  it('names the key id, not the payload, when a payload cannot be decrypted', async () => {
    const [foreign] = await new AesGcmCodec(new KeyRing('k7', { k7: randomBytes(32) })).encode([toPayload({ name: victimName })]);
    const res = await post(open, '/decode', { payloads: [payloadToJSON(toPayload(1)), payloadToJSON(foreign!)] });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; field: string; message: string } };
    expect(body.error).toMatchObject({ code: 'UNKNOWN_KEY_ID', field: 'payloads[1]' });
    expect(body.error.message).toContain('"k7"');
    expect(JSON.stringify(body)).not.toContain(victimName);
  });
});
