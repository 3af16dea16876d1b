import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDeadLetters } from '../../bridge/dead-letters.js';
import { KeyRing } from '../../codec/aes-gcm-codec.js';
import type { ApiApp } from '../../api/server.js';
import type { ApiRole } from '../../config/identities.js';
import { createLogger } from '../../workers/logger.js';
import { cliEntry, runNode, type CliResult } from '../support/cli-process.js';
import { detected, uniqueId } from '../support/fixtures.js';
import { RecordingPublisher } from '../support/recording-publisher.js';
import { listenOnLoopback, prefixedTopics, startTestApi, startTestEngine, testIdentities, unusedTopics, type TestEngine } from '../support/engine-harness.js';
import { eventually, KafkaHarness, type ReadRecord } from '../support/kafka-harness.js';
import { engineSecurityEnv, intakeTopicOf } from '../support/test-kafka.js';

const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const run = uniqueId('cli');
const taskQueue = `${run}-queue`;
/** Dead letters of NCCIA's intakes go back to NCCIA's own intake topic. */
const topics = { deadLetter: `${run}.dead-letter`, intake: intakeTopicOf(prefixedTopics(run), 'NCCIA'), missing: `${run}.no-such-topic` };

const people: Array<{ id: string; agency: string; role: ApiRole }> = [
  { id: 'fia-officer', agency: 'FIA', role: 'officer' },
  { id: 'nccia-officer', agency: 'NCCIA', role: 'officer' },
  { id: 'operator', agency: 'MOI', role: 'operator' },
];
const { keyOf, identities } = testIdentities(people, 'cli-test-key-');

/** The CLI as a user runs it: a child process (asynchronous, so this process's API keeps answering). */
function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runNode([...cliEntry, ...args], { env: { ...process.env, LOG_LEVEL: '', ...env } });
}

describe('referrals CLI against the API on the real Temporal dev server, and redrive on the real broker', () => {
  let engine: TestEngine;
  let app: ApiApp;
  let apiUrl: string;
  const dir = mkdtempSync(join(tmpdir(), 'referrals-cli-'));
  const harness = new KafkaHarness(brokers);
  const as = (who: string) => (args: string[]) => cli(args, { REFERRALS_API_URL: apiUrl, REFERRALS_API_KEY: keyOf(who) });
  // Topics carry the run's prefix, which the ACL table does not name: redrive connects as the admin principal.
  const kafkaEnv = { KAFKA_BROKERS: brokers, KAFKA_TOPIC_DEAD_LETTER: topics.deadLetter, ...engineSecurityEnv('admin') };
  const redrive = (args: string[], env: Record<string, string> = {}) => cli(['redrive', ...args], { ...kafkaEnv, ...env });

  beforeAll(async () => {
    engine = await startTestEngine({ temporalAddress, taskQueue, topics: unusedTopics, source: 'urn:test' });
    const { pino } = await import('pino');
    app = await startTestApi({ client: engine.client, taskQueue, auth: { identities }, logger: pino({ level: 'silent' }) });
    apiUrl = await listenOnLoopback(app);
    await harness.createTopics([topics.deadLetter, topics.intake]);
  });

  afterAll(async () => {
    await harness.close();
    await app?.close();
    await engine?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('submits, lists, shows and acts with exit codes scripts can rely on', async () => {
    const referral = detected();
    const id = referral.referralId;
    const file = join(dir, `${id}.json`);
    writeFileSync(file, JSON.stringify(referral, null, 2));
    const fia = as('fia-officer');

    const first = await fia(['submit', file]);
    expect(first, first.stderr).toMatchObject({ code: 0, stdout: `started ${id}\n` });
    const again = await fia(['submit', file]);
    expect(again, again.stderr).toMatchObject({ code: 0, stdout: `duplicate ${id}\n` });

    // The referral reaches screening; then list (visibility catches up within a moment) shows it.
    await eventually(async () => (await app.inject({ method: 'GET', url: `/referrals/${id}`, headers: { authorization: `Bearer ${keyOf('operator')}` } })).json().referral?.stage, (s) => s === 'SCREENING');
    const listed = await eventually(() => fia(['list', '--lead', 'fia', '--open', '--limit', '1000']), (r) => r.stdout.includes(id), 30_000, 'the referral in the list');
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+STAGE\s+CASE TYPE\s+LEAD\s+DISTRICT\s+PRIORITY\s+BREACHED\s+NEXT DEADLINE$/);
    const row = listed.stdout.split('\n').find((l) => l.startsWith(`${id} `));
    expect(row).toMatch(new RegExp(`^${id}\\s+SCREENING\\s+TRAFFICKING\\s+FIA\\s+Lahore\\s+\\w+\\s+(no|yes)\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ$`));
    const asJson = await fia(['list', '--case-type', 'trafficking', '--province', 'punjab', '--json', '--limit', '1000']);
    expect(asJson.code).toBe(0);
    expect((JSON.parse(asJson.stdout) as Array<{ referralId: string }>).map((r) => r.referralId)).toContain(id);
    // An outsider agency's list does not show it.
    expect((await as('nccia-officer')(['list', '--limit', '1000'])).stdout).not.toContain(id);

    const shown = await fia(['show', id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`Referral ${id}`);
    expect(shown.stdout).toMatch(/stage\s+SCREENING/);
    expect(shown.stdout).toMatch(/route\s+lead FIA;/);
    expect(shown.stdout).toMatch(/SLA clocks \(2\)/);
    expect(shown.stdout).toMatch(/referral\s+acknowledge\s+FIA\s+RUNNING/);
    expect(shown.stdout).toMatch(/Timeline \(\d+\)/);
    expect(shown.stdout).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+referral\s+DETECTED/);
    // The lead may read personal data; show prints only how many persons there are.
    expect(shown.stdout).toContain('persons      1 (personal data: see --json)');
    expect(shown.stdout).not.toContain(referral.persons[0]!.name);

    // Another agency may not act for the lead: 403 → exit 1, CODE: message.
    const denied = await as('nccia-officer')(['act', id, 'acknowledge', '--data', '{"reason":"not ours"}']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^referrals act: FORBIDDEN: /);
    const ok = await fia(['act', id, 'acknowledge', '--data', '{"reason":"seen"}', '--idempotency-key', `${run}-ack`]);
    expect(ok, ok.stderr).toMatchObject({ code: 0, stdout: `accepted acknowledge ${id}: stage SCREENING\n` });
    const twice = await fia(['act', id, 'acknowledge']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('INVALID_TRANSITION: ');
    // A body the schema refuses: exit 1 with every field at fault.
    const invalid = await fia(['act', id, 'extend-deadline', '--data', '{"step":"screening","by":{"weeks":1}}']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/VALIDATION: \d+ invalid field\(s\) \(field: body\.\w+\)/);
    expect(invalid.stderr).toContain('  - body.reason: ');
    const after = await fia(['show', id]);
    expect(after.stdout).toMatch(/referral\s+ACKNOWLEDGED\s+FIA\/fia-officer\s+"seen"/);
    expect(after.stdout).toMatch(/referral\s+acknowledge\s+FIA\s+MET \d{4}/);

    // Not found: exit 4.
    const missing = await fia(['show', 'NO-SUCH-REFERRAL']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('UNKNOWN_REFERRAL: referralId: no referral NO-SUCH-REFERRAL (field: referralId)');
    expect((await fia(['act', 'NO-SUCH-REFERRAL', 'acknowledge'])).code).toBe(4);

    // A referral the schema refuses: exit 1 naming the fields.
    const badFile = join(dir, 'bad.json');
    writeFileSync(badFile, JSON.stringify({ ...detected(), facts: { ...referral.facts, location: { province: 'ATLANTIS', district: 'x' } } }));
    const bad = await fia(['submit', badFile]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('  - body.facts.location.province: ');
    // A wrong key: 401 → exit 1.
    const unknownKey = await cli(['list'], { REFERRALS_API_URL: apiUrl, REFERRALS_API_KEY: 'nope' });
    expect(unknownKey.code).toBe(1);
    expect(unknownKey.stderr).toContain('INVALID_CREDENTIALS: authorization: unknown API key (field: authorization)');
  });

  it('re-drives dead letters to their source topic with the original bytes, key and headers', async () => {
    const original = (id: string) => ({
      ce_specversion: '1.0',
      ce_id: `agency-${id}`,
      ce_source: 'urn:agency:nccia',
      ce_type: 'referral.detected.v1',
      'content-type': 'application/json',
    });
    const dlqHeaders = (reason: string, offset: number) => ({
      'dlq-reason': reason,
      'dlq-errors': JSON.stringify(['data.facts.location.province: Invalid enum value. Expected ...', 'data.persons.0.name: Required']),
      'dlq-source-topic': topics.intake,
      'dlq-source-partition': '0',
      'dlq-source-offset': String(offset),
      'dlq-at': new Date().toISOString(),
    });
    const letters = [
      // Not even UTF-8: the bytes must come back exactly.
      { key: `${run}-A`, value: Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x22, 0x7d]), reason: 'INVALID_CLOUDEVENT' },
      { key: `${run}-B`, value: Buffer.from(JSON.stringify({ referralId: `${run}-B`, facts: { location: { province: 'ATLANTIS' } } })), reason: 'INVALID_CLOUDEVENT' },
      { key: `${run}-C`, value: Buffer.from('{"referralId":"C"}'), reason: 'UNKNOWN_EVENT_TYPE' },
    ];
    await harness.produce(letters.map((l, i) => ({ topic: topics.deadLetter, key: l.key, value: l.value, headers: { ...original(l.key), ...dlqHeaders(l.reason, i) } })));
    const intake: ReadRecord[] = await harness.collect([topics.intake]);

    // A dry run lists and changes nothing.
    const dry = await redrive(['--dry-run', '--reason', 'INVALID_CLOUDEVENT']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.match(/^would re-drive /gm)).toHaveLength(2);
    expect(dry.stdout).toContain(`-> ${topics.intake}  key ${run}-A  reason INVALID_CLOUDEVENT  fields data.facts.location.province,data.persons.0.name`);
    expect(dry.stdout).not.toContain('Invalid enum value');
    expect(dry.stdout).toContain('nothing produced, no offset committed');

    const first = await redrive(['--reason', 'INVALID_CLOUDEVENT']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`re-drove 2 of 3 record(s) read from ${topics.deadLetter} (${topics.intake}: 2); passed over 1 with another dlq-reason than INVALID_CLOUDEVENT`);
    await eventually(() => intake.length, (n) => n >= 2, 30_000, 'two re-driven records on the intake topic');
    for (const letter of letters.slice(0, 2)) {
      const back = intake.find((r) => r.key === letter.key);
      expect(back, letter.key).toBeDefined();
      expect(Buffer.compare(back!.value!, letter.value)).toBe(0);
      expect(back!.headers).toEqual(original(letter.key));
    }

    // The group remembers: nothing left; --from-beginning goes over the topic again.
    const second = await redrive([]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('nothing to re-drive');
    const again = await redrive(['--from-beginning', '--reason', 'UNKNOWN_EVENT_TYPE']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`re-drove 1 of 3 record(s) read from ${topics.deadLetter} (${topics.intake}: 1)`);
    await eventually(() => intake.length, (n) => n >= 3, 30_000, 'the third record on the intake topic');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(intake.map((r) => r.key).sort()).toEqual(letters.map((l) => l.key).sort());
    expect(intake.every((r) => Object.keys(r.headers).every((h) => !h.startsWith('dlq-')))).toBe(true);

    // --limit stops after N; what is left stays for the next run.
    const limited = await redrive(['--from-beginning', '--limit', '1', '--dry-run']);
    expect(limited.code, limited.stderr).toBe(0);
    expect(limited.stdout.match(/^would re-drive /gm)).toHaveLength(1);

    // No such dead-letter topic: exit 4 (an unreachable broker, exit 3, is in test/unit/cli.test.ts).
    const noTopic = await redrive([], { KAFKA_TOPIC_DEAD_LETTER: topics.missing });
    expect(noTopic.code).toBe(4);
    expect(noTopic.stderr).toContain(`no topic "${topics.missing}"`);
  });

  it('re-drives sealed dead letters with their exact original bytes; a key it lacks stops it (exit 1), uncommitted', async () => {
    const sealedTopics = { deadLetter: `${run}.sealed.dead-letter`, intake: `${run}.sealed.intake` };
    await harness.createTopics([sealedTopics.deadLetter, sealedTopics.intake]);
    const kNew = randomBytes(32);
    const kOld = randomBytes(32);
    const kGone = randomBytes(32);
    const engineRing = new KeyRing('dl-new', { 'dl-new': kNew, 'dl-old': kOld });
    const victim = `Sealed Victim ${run}`;
    const key = `${run}-S`; // one key: one partition, so the order below is the order read
    const original = (id: string) => ({ ce_specversion: '1.0', ce_id: id, ce_source: 'urn:agency:fia', ce_type: 'referral.detected.v1', 'content-type': 'application/json' });
    const letters = [
      // Sealed before a rotation (old key), without sealing (a dead letter written before), with a key the CLI lacks, after the rotation.
      { id: `${run}-s1`, ring: engineRing.withActive('dl-old'), value: Buffer.from(JSON.stringify({ referralId: `${run}-s1`, persons: [{ role: 'VICTIM', name: victim }] })) },
      { id: `${run}-s2`, ring: undefined, value: Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x22, 0x7d]) },
      { id: `${run}-s3`, ring: new KeyRing('dl-gone', { 'dl-gone': kGone }), value: Buffer.from(JSON.stringify({ referralId: `${run}-s3`, persons: [{ role: 'VICTIM', name: victim }] })) },
      { id: `${run}-s4`, ring: engineRing, value: Buffer.from([0x00, 0xc3, 0x28, 0xff]) },
    ];
    // Written by the engine's own dead-letter writer, then put on the broker.
    const written = new RecordingPublisher();
    const quiet = createLogger({ level: 'silent' });
    for (const [i, l] of letters.entries()) {
      const inbound = { topic: sealedTopics.intake, partition: 0, offset: String(i), key: Buffer.from(key), value: Buffer.from(l.value), headers: original(l.id) };
      await createDeadLetters(written, sealedTopics.deadLetter, quiet, l.ring ? { seal: l.ring } : {}).send(inbound, 'INVALID_EVENT', ['data.facts.location.province: Invalid enum value'], {
        heartbeat: async () => {},
        isStopping: () => false,
      });
    }
    expect(written.records.map((r) => r.headers['dlq-sealed'])).toEqual(['dl-old', undefined, 'dl-gone', 'dl-new']);
    for (const r of written.records) expect(Buffer.from(r.value as Buffer).includes(Buffer.from(victim))).toBe(false);
    await harness.produce(written.records);
    const intake = await harness.collect([sealedTopics.intake]);
    const keysEnv = (...ids: Array<[string, Buffer]>) => ({ PAYLOAD_KEYS: ids.map(([id, k]) => `${id}:${k.toString('base64')}`).join(','), PAYLOAD_KEYS_FILE: '', PAYLOAD_ACTIVE_KEY: '' });
    const env = { KAFKA_TOPIC_DEAD_LETTER: sealedTopics.deadLetter };

    // A dry run lists without unsealing: it needs no key at all.
    const dry = await redrive(['--dry-run'], { ...env, PAYLOAD_KEYS: '', PAYLOAD_ACTIVE_KEY: '', PAYLOAD_KEYS_FILE: join(dir, 'no-such-keys.json') });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.match(/^would re-drive /gm)).toHaveLength(4);
    expect(dry.stdout.match(/  sealed dl-(old|gone|new)$/gm)).toEqual(['  sealed dl-old', '  sealed dl-gone', '  sealed dl-new']);
    expect(dry.stdout).not.toContain(victim);

    // With the engine's keys (old and new): the first two are re-driven, the third stops the run, uncommitted.
    const stopped = await redrive([], { ...env, ...keysEnv(['dl-new', kNew], ['dl-old', kOld]) });
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stderr).toContain(`${sealedTopics.deadLetter}/`);
    expect(stopped.stderr).toContain('"dl-gone"');
    expect(stopped.stderr).toContain('known: dl-new, dl-old');
    for (const k of [kNew, kOld, kGone]) expect(stopped.stderr).not.toContain(k.toString('base64'));
    await eventually(() => intake.length, (n) => n >= 2, 30_000, 'the two records before the unknown key');

    // Once the key is there, the run goes on from the record it stopped at.
    const resumed = await redrive([], { ...env, ...keysEnv(['dl-new', kNew], ['dl-old', kOld], ['dl-gone', kGone]) });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`re-drove 2 of 2 record(s) read from ${sealedTopics.deadLetter} (${sealedTopics.intake}: 2)`);
    await eventually(() => intake.length, (n) => n >= 4, 30_000, 'all four on the intake topic');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(intake.map((r) => r.headers['ce_id'])).toEqual(letters.map((l) => l.id));
    for (const letter of letters) {
      const back = intake.find((r) => r.headers['ce_id'] === letter.id)!;
      expect(back.key).toBe(key);
      expect(Buffer.compare(back.value!, letter.value), letter.id).toBe(0);
      expect(back.headers).toEqual(original(letter.id));
    }
  });

  it('re-drives a larger backlog with a progress line per 100 records, each record once', async () => {
    const bulk = { deadLetter: `${run}.bulk.dead-letter`, intake: `${run}.bulk.intake` };
    await harness.createTopics([bulk.deadLetter, bulk.intake]);
    const count = 230;
    await harness.produce(
      Array.from({ length: count }, (_, i) => ({
        topic: bulk.deadLetter,
        key: `${run}-bulk-${i}`,
        value: `{"n":${i}}`,
        headers: { ce_id: `bulk-${i}`, 'dlq-reason': 'INVALID_EVENT', 'dlq-errors': '[]', 'dlq-source-topic': bulk.intake },
      })),
    );
    const intake = await harness.collect([bulk.intake]);
    const result = await redrive([], { KAFKA_TOPIC_DEAD_LETTER: bulk.deadLetter });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.match(/^redrive: \d+ read, \d+ re-driven, 0 passed over$/gm)).toEqual(['redrive: 100 read, 100 re-driven, 0 passed over', 'redrive: 200 read, 200 re-driven, 0 passed over']);
    expect(result.stdout).toContain(`re-drove ${count} of ${count} record(s)`);
    await eventually(() => intake.length, (n) => n >= count, 30_000, `${count} records on the intake topic`);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(new Set(intake.map((r) => r.headers['ce_id'])).size).toBe(count);
    expect(intake).toHaveLength(count);
  });
});
