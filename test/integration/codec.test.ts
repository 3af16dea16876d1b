/**
 * Victims' data is encrypted in Temporal: a referral started through the engine's data converter
 * leaves only ciphertext in the server's history (read raw, without the codec, and with the
 * `temporal workflow show` command the README gives), while a client with the codec, and the CLI
 * through the codec server, read it in clear.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/codec-helpers.js';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AesGcmCodec, ENCRYPTED_ENCODING, KeyRing } from '../../codec/aes-gcm-codec.js';
import { startCodecServer, type CodecServer } from '../../codec/server.js';
import type { Topics } from '../../config/env.js';
import type { ReferralWorkflowInput } from '../../workflows/types.js';
import { detected, uniqueId, workflowInput } from '../support/fixtures.js';
import { startTestEngine, type TestEngine } from '../support/engine-harness.js';
import { eventually } from '../support/kafka-harness.js';
import { readStackPaths } from '../support/stack-paths.js';

const temporalAddress = inject('temporalAddress');
const run = uniqueId('codec');
const taskQueue = `${run}-queue`;
const topics: Topics = { intake: 'i', actions: 'a', deadLetter: 'd', events: 'e', notifyPrefix: `${run}.notify.` };
const keyRing = new KeyRing('it-1', { 'it-1': randomBytes(32) });

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;

/** Every base64 string of a proto-JSON history (payload data and metadata), decoded. */
function decodedBytes(json: unknown, out: Buffer[] = []): Buffer[] {
  if (typeof json === 'string') {
    if (json.length >= 4 && /^[A-Za-z0-9+/]+={0,2}$/.test(json)) out.push(Buffer.from(json, 'base64'));
  } else if (Array.isArray(json)) {
    for (const item of json) decodedBytes(item, out);
  } else if (json && typeof json === 'object') {
    for (const value of Object.values(json)) decodedBytes(value, out);
  }
  return out;
}

/** Every payload in a history object: anything with `data` bytes and `metadata`. */
function payloadsOf(value: unknown, out: Payload[] = []): Payload[] {
  if (Array.isArray(value)) for (const v of value) payloadsOf(v, out);
  else if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const o = value as Record<string, unknown>;
    if (o['data'] instanceof Uint8Array && o['metadata'] && typeof o['metadata'] === 'object') out.push(o as Payload);
    else for (const v of Object.values(o)) payloadsOf(v, out);
  }
  return out;
}

/** The JSON text and every base64 string in it, decoded: where a secret would show. */
function haystackOf(text: string): Buffer {
  return Buffer.concat([Buffer.from(text), ...decodedBytes(JSON.parse(text))]);
}

function expectAbsent(text: string, what: string, secrets: string[]): void {
  const haystack = haystackOf(text);
  for (const secret of secrets) expect(haystack.includes(Buffer.from(secret)), `${what} contains "${secret}"`).toBe(false);
}

/**
 * Runs the installed Temporal CLI against the test server. Asynchronous on purpose: with
 * `--codec-endpoint` it calls the codec server running in this very process.
 */
function temporalCli(args: string[]): Promise<string> {
  const argv = [...args, '--address', temporalAddress, '--disable-config-file', '--disable-config-env'];
  return new Promise((resolve, reject) => {
    execFile(
      readStackPaths().TEMPORAL_BIN,
      argv,
      { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TEMPORAL_CODEC_ENDPOINT: '', TEMPORAL_CODEC_AUTH: '' } },
      (err, stdout, stderr) => (err ? reject(new Error(`temporal ${args.join(' ')} failed: ${err.message} ${stderr}`)) : resolve(stdout)),
    );
  });
}

describe('payload encryption against the real Temporal server', () => {
  let engine: TestEngine;
  let withCodec: Client;
  let raw: Client;
  let codecServer: CodecServer;

  beforeAll(async () => {
    engine = await startTestEngine({ temporalAddress, taskQueue, topics, keyRing, source: 'urn:referral-engine:codec-test' });
    withCodec = engine.client;
    raw = new Client({ connection: engine.connection });
    codecServer = await startCodecServer({
      codec: new AesGcmCodec(keyRing),
      port: 0,
      uiOrigin: 'http://127.0.0.1:18233',
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
  });

  afterAll(async () => {
    await codecServer?.close();
    await engine?.stop();
  });

  it('stores only ciphertext of the input: raw history and `temporal workflow show` never show the victim', async () => {
    const victim = `Codec Victim ${randomBytes(4).toString('hex')}`;
    const contact = `+92-300-${randomBytes(3).toString('hex')}`;
    const referral = detected({
      persons: [{ role: 'VICTIM', name: victim, age: 17, contact, health: 'untreated burns on both hands', location: 'safe house Gujrat' }],
    });
    const input = workflowInput(referral);
    const secrets = [victim, contact, 'untreated burns', 'safe house Gujrat'];
    const workflowId = `referral-${referral.referralId}`;
    await withCodec.workflow.start('referralWorkflow', { workflowId, taskQueue, args: [input] });

    // The worker decrypted the input and ran the routing activity (its input and result are encrypted too).
    const history: History = await eventually(
      () => raw.workflow.getHandle(workflowId).fetchHistory(),
      (h) => (h.events ?? []).some((e) => e.activityTaskCompletedEventAttributes),
      60_000,
      'an activity completed',
    );

    // Raw history, read without the codec: every workflow payload is encrypted, the name is nowhere.
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const inputPayload = started.input!.payloads![0]!;
    expect(Buffer.from(inputPayload.metadata!['encoding']!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(inputPayload.metadata!['encryption-key-id']!).toString()).toBe('it-1');
    // It names its workflow (metadata, bound to the ciphertext), so a codec server can tell whose it is.
    expect(Buffer.from(inputPayload.metadata!['encryption-workflow-id']!).toString()).toBe(workflowId);
    const encrypted = payloadsOf(history.events).filter((p) => Buffer.from(p.metadata!['encoding'] ?? []).toString() === ENCRYPTED_ENCODING);
    expect(encrypted.length).toBeGreaterThanOrEqual(3); // input, activity input, activity result at least
    for (const p of payloadsOf(history.events)) expect(Buffer.from(p.data!).includes(Buffer.from(victim))).toBe(false);
    expectAbsent(historyToJSON(history), 'raw history', secrets);

    // Child workflows (the tracks) get their inputs encrypted as well.
    const children = (history.events ?? []).flatMap((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? []);
    for (const child of children) {
      expectAbsent(historyToJSON(await raw.workflow.getHandle(child).fetchHistory()), `history of ${child}`, secrets);
    }

    // What the README tells an operator to run: the CLI without a codec shows ciphertext only.
    const shown = await temporalCli(['workflow', 'show', '--workflow-id', workflowId, '--output', 'json']);
    expect(shown).toContain(workflowId);
    expect(shown).toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));
    expectAbsent(shown, '`temporal workflow show --output json`', secrets);

    // With the codec, the input reads back in clear.
    const decoded = await decodeFromPayloadsAtIndex<ReferralWorkflowInput>(withCodec.options.loadedDataConverter, 0, started.input!.payloads);
    expect(decoded).toEqual(input);
    expect(decoded.referral.persons[0]!.name).toBe(victim);
    // ...and the client without it sees only the encrypted payload, which it cannot read.
    await expect(decodeFromPayloadsAtIndex(raw.options.loadedDataConverter, 0, started.input!.payloads)).rejects.toThrow();

    // The CLI through the codec server (the protocol the Web UI uses) shows the name in clear.
    const throughCodec = await temporalCli(['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--codec-endpoint', codecServer.endpoint]);
    expect(throughCodec).not.toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));
    expect(haystackOf(throughCodec).includes(Buffer.from(victim))).toBe(true);

    // A query through the codec server: the CLI posts `{}` to /codec/encode for a query without
    // arguments, then decodes the answer.
    const queried = await temporalCli(['workflow', 'query', '--workflow-id', workflowId, '--type', 'referralState', '--output', 'json', '--codec-endpoint', codecServer.endpoint]);
    expect(queried).toContain(referral.referralId);
    expect(queried).not.toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));

    await withCodec.workflow.getHandle(workflowId).terminate('codec test done');
  });
});
