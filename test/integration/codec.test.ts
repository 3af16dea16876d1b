/**
 * Victims' data is encrypted in Temporal: a referral started through the engine's data converter
 * leaves only ciphertext in the server's history (read raw, without the codec, and with the
 * `temporal workflow show` command the README gives), while a client with the codec reads it in
 * clear. The codec server, run by the real engine process (ENGINE_ROLES=codec), decodes only for
 * those allowed to see the referral: the `temporal` CLI with an operator's key (`--codec-auth
 * "Bearer <key>"`) reads it decoded, a non-party agency's key and no key get it still encrypted,
 * and every decode request leaves exactly one record on `referrals.audit`, which an operator reads
 * and other principals may not.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/codec-helpers.js';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Kafka } from 'kafkajs';
import { ENCRYPTED_ENCODING, KeyRing } from '../../codec/aes-gcm-codec.js';
import { loadEngineConfig, type Topics } from '../../config/env.js';
import { loadKafkaAccess } from '../../config/kafka-access.js';
import { readCodecAudit } from '../../codec/audit.js';
import type { CodecAuditV1 } from '../../schemas/audit.js';
import { AgencyCode } from '../../schemas/common.js';
import { PartiesKey } from '../../workflows/search-attributes.js';
import type { ReferralWorkflowInput } from '../../workflows/types.js';
import { quickClient, saslConfig } from '../support/broker-clients.js';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { detected, uniqueId, workflowInput } from '../support/fixtures.js';
import { startTestEngine, testIdentities, type TestEngine } from '../support/engine-harness.js';
import { eventually, type ReadRecord } from '../support/kafka-harness.js';
import { readStackPaths } from '../support/stack-paths.js';
import { kafkajsAuth } from '../support/test-kafka.js';
import { readTopics } from '../support/topic-reader.js';

const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const security = inject('kafkaSecurity');
const run = uniqueId('codec');
const taskQueue = `${run}-queue`;
const topics: Topics = { intake: 'i', actions: 'a', deadLetter: 'd', events: 'e', notifyPrefix: `${run}.notify.` };
const keyBytes = randomBytes(32);
const keyRing = new KeyRing('it-1', { 'it-1': keyBytes });
/** The shipped audit topic: the ACL table names it (engine-audit writes, operators read). */
const auditTopic = loadEngineConfig({}).kafka.topics.audit;
const access = loadKafkaAccess();

/** A loopback port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** The audit records on the topic since `since`, read as an operator (its own consumer group prefix), each checked against its schema. */
async function auditRecords(since: Date): Promise<Array<{ id: string; data: CodecAuditV1 }>> {
  const records: ReadRecord[] = await readTopics(brokers, [auditTopic], 60_000, kafkajsAuth(access.operators[0]!), `${access.operators[0]!}.codec-test-`);
  return records
    .map((r) => {
      const event = readCodecAudit(r);
      expect(r.key).toBe(event.subject);
      return { id: event.id, data: event.data };
    })
    .filter((e) => Date.parse(e.data.time) >= since.getTime());
}

/** The codec server's own line for each request it answered (debug level), by path. */
function codecRequests(engine: EngineProcess, path: string): number {
  return engine
    .output()
    .split('\n')
    .filter((line) => line.includes('"component":"codec-server"') && line.includes('"msg":"codec request"') && line.includes(`"path":"${path}"`)).length;
}

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
  let codecEngine: EngineProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'codec-it-'));

  beforeAll(async () => {
    engine = await startTestEngine({ temporalAddress, taskQueue, topics, keyRing, source: 'urn:referral-engine:codec-test' });
    withCodec = engine.client;
    raw = new Client({ connection: engine.connection });
  });

  afterAll(async () => {
    await codecEngine?.stop();
    await engine?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const victim = `Codec Victim ${randomBytes(4).toString('hex')}`;
  const contact = `+92-300-${randomBytes(3).toString('hex')}`;
  const referral = detected({
    persons: [{ role: 'VICTIM', name: victim, age: 17, contact, health: 'untreated burns on both hands', location: 'safe house Gujrat' }],
  });
  const secrets = [victim, contact, 'untreated burns', 'safe house Gujrat'];
  const workflowId = `referral-${referral.referralId}`;

  it('stores only ciphertext of the input: raw history and `temporal workflow show` never show the victim', async () => {
    const input = workflowInput(referral);
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
  });

  it('decodes through the codec server only for those allowed to see the referral, with one audit record per decode request', async () => {
    // The codec server of the real engine process, knowing the API's identities: an operator, an
    // agency party to the referral (its source), and one that is not.
    const parties = await eventually(
      async () => (await withCodec.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(PartiesKey) ?? [],
      (p) => p.includes(referral.sourceAgency) && p.length > 1,
      60_000,
      'the Parties search attribute',
    );
    const outsider = AgencyCode.options.find((a) => a !== 'PARTNER' && !parties.includes(a))!;
    expect(outsider, `an agency outside ${parties.join(', ')}`).toBeDefined();
    const who = testIdentities(
      [
        { id: `${run}-operator`, agency: 'MOI', role: 'operator' },
        { id: `${run}-party`, agency: referral.sourceAgency, role: 'officer' },
        { id: `${run}-outsider`, agency: outsider, role: 'officer' },
      ],
      `key-${randomBytes(8).toString('hex')}-`,
    );
    const [operatorId, partyId, outsiderId] = who.identities.map((i) => i.id) as [string, string, string];
    const identitiesFile = join(dir, 'identities.json');
    writeFileSync(identitiesFile, JSON.stringify({ identities: who.identities }), { mode: 0o600 });
    const codecPort = await freePort();
    const codecStarted = new Date();
    codecEngine = await startEngineProcess({
      run,
      temporalAddress,
      brokers,
      env: {
        ENGINE_ROLES: 'codec',
        CODEC_SERVER_PORT: String(codecPort),
        TEMPORAL_UI_URL: 'http://127.0.0.1:18233',
        API_IDENTITIES_FILE: identitiesFile,
        PAYLOAD_KEYS: `it-1:${keyBytes.toString('base64')}`,
        // The codec server's audit principal, as the ACL table has it: it alone may write the audit topic.
        KAFKA_AUDIT_USERNAME: access.engine.audit,
        LOG_LEVEL: 'debug',
        WORKER_METRICS_ADDRESS: '0',
      },
    });
    const endpoint = `http://127.0.0.1:${codecPort}/codec`;
    const auth = (id: string) => ['--codec-auth', `Bearer ${who.keyOf(id)}`];

    // The CLI with an operator's key, through the codec server (the protocol the Web UI uses): the name in clear.
    const throughCodec = await temporalCli(['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--codec-endpoint', endpoint, ...auth(operatorId)]);
    expect(throughCodec).not.toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));
    expect(haystackOf(throughCodec).includes(Buffer.from(victim))).toBe(true);
    const showRequests = codecRequests(codecEngine, '/codec/decode');
    expect(showRequests).toBeGreaterThan(0);

    // A query: the CLI posts `{}` to /codec/encode for a query without arguments, then decodes the answer.
    const queried = await temporalCli(['workflow', 'query', '--workflow-id', workflowId, '--type', 'referralState', '--output', 'json', '--codec-endpoint', endpoint, ...auth(operatorId)]);
    expect(queried).toContain(referral.referralId);
    expect(queried).not.toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));
    const described = await temporalCli(['workflow', 'describe', '--workflow-id', workflowId, '--output', 'json', '--codec-endpoint', endpoint, ...auth(operatorId)]);
    expect(described).toContain(workflowId);

    // The agency that is a party reads it too; one that is not gets the answer still encrypted, as does no key at all.
    const asParty = await temporalCli(['workflow', 'query', '--workflow-id', workflowId, '--type', 'referralState', '--output', 'json', '--codec-endpoint', endpoint, ...auth(partyId)]);
    expect(asParty).toContain(referral.referralId);
    const asOutsider = await temporalCli(['workflow', 'query', '--workflow-id', workflowId, '--type', 'referralState', '--output', 'json', '--codec-endpoint', endpoint, ...auth(outsiderId)]);
    expect(asOutsider).not.toContain(referral.referralId);
    expect(asOutsider).toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));
    const shownAnonymously = await temporalCli(['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--codec-endpoint', endpoint]);
    expect(shownAnonymously).toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));
    expectAbsent(shownAnonymously, '`temporal workflow show` through the codec server without a key', secrets);
    // A bad key is refused outright (401 INVALID_CREDENTIALS, recorded below): the CLI fails rather than show anything.
    await expect(temporalCli(['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--codec-endpoint', endpoint, '--codec-auth', 'Bearer not-a-key'])).rejects.toThrow(/failed/);

    // Exactly one audit record per decode request, read from the audit topic as an operator. The
    // server logs each request once answered: wait until every request's line is out.
    const auditLines = () =>
      codecEngine!
        .output()
        .split('\n')
        .filter((line) => line.includes('"component":"codec-audit"') && line.includes('"msg":"codec decode'))
        .map((line) => (JSON.parse(line) as { eventId: string }).eventId);
    const decodeRequests = await eventually(() => codecRequests(codecEngine!, '/codec/decode'), (n) => n === auditLines().length, 10_000, 'a log line for every decode request');
    const records = await eventually(
      () => auditRecords(codecStarted),
      (r) => r.length >= decodeRequests,
      60_000,
      `${decodeRequests} audit records`,
    );
    expect(records).toHaveLength(decodeRequests);
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    // ...the same records the codec server logged, one per request.
    expect([...auditLines()].sort()).toEqual(records.map((r) => r.id).sort());
    const of = (id: string) => records.filter((r) => r.data.principal.id === id).map((r) => r.data);
    expect(of(operatorId).length).toBeGreaterThanOrEqual(showRequests + 1);
    for (const r of of(operatorId)) {
      expect(r).toMatchObject({ principal: { agency: 'MOI', role: 'operator', via: 'api-key' }, credential: 'bearer', status: 200 });
      expect(r.payloads.refused).toBe(0);
    }
    expect(of(operatorId).some((r) => r.outcome === 'DECODED' && r.referralIds.includes(referral.referralId))).toBe(true);
    expect(of(partyId).map((r) => r.outcome)).toContain('DECODED');
    expect(of(outsiderId).length).toBeGreaterThan(0);
    for (const r of of(outsiderId)) {
      expect(r.payloads.decoded).toBe(0);
      expect(r.workflows.map((w) => w.decision)).toEqual(r.workflows.map(() => 'NOT_A_PARTY'));
    }
    const anonymous = records.filter((r) => r.data.principal.id === 'anonymous').map((r) => r.data);
    expect(anonymous.some((r) => r.credential === 'none' && r.outcome === 'REFUSED' && r.payloads.decoded === 0)).toBe(true);
    expect(anonymous.some((r) => r.credential === 'rejected' && r.authError === 'INVALID_CREDENTIALS')).toBe(true);
    // Never the victim, a key or a payload on the audit topic.
    const onTopic = JSON.stringify(records);
    for (const secret of [...secrets, ...who.identities.map((i) => who.keyOf(i.id))]) expect(onTopic).not.toContain(secret);

    // Operators alone read the audit topic: an agency, a partner and the engine's other principals are refused.
    for (const principal of ['fia', 'partner-iom', access.engine.monitor, access.engine.publisher]) {
      const admin = new Kafka({ ...saslConfig(brokers, security, principal), ...quickClient }).admin();
      await admin.connect();
      try {
        await expect(admin.fetchTopicOffsets(auditTopic), principal).rejects.toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED' });
      } finally {
        await admin.disconnect();
      }
    }

    await withCodec.workflow.getHandle(workflowId).terminate('codec test done');
  });
});
