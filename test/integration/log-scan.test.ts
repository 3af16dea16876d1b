import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256Hex } from '../../api/auth.js';
import { writeWorkflowBundle } from '../../scripts/bundle-workflows.js';
import { intakeRecord } from '../../scripts/intake-event.js';
import { detected, uniqueId } from '../support/fixtures.js';
import { eventually, KafkaHarness } from '../support/kafka-harness.js';
import { startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { prefixedTopics } from '../support/engine-harness.js';
import { intakeTopicOf } from '../support/test-kafka.js';

const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const run = uniqueId('logscan');
const apiPort = 20_000 + (process.pid % 20_000);
const keys = { fia: `fia-${randomBytes(8).toString('hex')}`, swd: `swd-${randomBytes(8).toString('hex')}` };

/**
 * A full run of the engine process (worker, bridges, API) with its real logs at debug level: no
 * person's data from a referral may appear anywhere in them, whatever path the data took
 * (intake, a poison message, an intake refused for naming another agency than its topic's, the
 * API reading persons, actions, failures).
 */
describe('no personal data in the logs of a full engine run', () => {
  const harness = new KafkaHarness(brokers);
  let engine: EngineProcess;
  /** The engine process's topic names (engineTopicEnv). */
  const topics = prefixedTopics(run);

  beforeAll(async () => {
    await harness.createEngineTopics(topics);
    const dir = mkdtempSync(join(tmpdir(), 'logscan-'));
    const identities = join(dir, 'identities.json');
    writeFileSync(
      identities,
      JSON.stringify({
        identities: [
          { id: 'fia-officer', agency: 'FIA', role: 'officer', keySha256: sha256Hex(keys.fia) },
          { id: 'swd-officer', agency: 'SWD', role: 'officer', keySha256: sha256Hex(keys.swd) },
        ],
      }),
    );
    // The worker loads a bundle built ahead of time, as the image's does (npm run bundle-workflows).
    const { file: bundle } = await writeWorkflowBundle(join(dir, 'workflows.bundle.js'));
    engine = await startEngineProcess({
      run,
      temporalAddress,
      brokers,
      env: {
        WORKER_WORKFLOW_BUNDLE: bundle,
        ENGINE_ROLES: 'worker,bridge,api',
        LOG_LEVEL: 'debug',
        API_PORT: String(apiPort),
        API_IDENTITIES_FILE: identities,
        WORKER_METRICS_ADDRESS: '0',
      },
    });
  });

  afterAll(async () => {
    await engine?.stop();
    await harness.close();
  });

  it('keeps every person field out of every log line', async () => {
    const api = `http://127.0.0.1:${apiPort}`;
    const referral = detected({
      persons: [
        { role: 'VICTIM', name: 'Zarmina Qadeer-Logscan', age: 17, contact: '+92-321-7654321', location: 'House 12, Street 9, Mardan', health: 'untreated burn wound', nationality: 'PK', documents: ['CNIC 17301-7654321-2'] },
        { role: 'SUSPECT', name: 'Haroon Baigzai-Logscan', contact: 'haroon.logscan@example.invalid' },
      ],
    });
    const poison = { ...referral, referralId: `${referral.referralId}-bad`, facts: { ...referral.facts, location: { province: 'NOWHERE', district: 'x' } } };
    // The same persons sent by NCCIA in FIA's name: refused, dead-lettered and answered.
    const forged = { ...referral, referralId: `${referral.referralId}-forged` };
    const fiaIntake = intakeTopicOf(topics, 'FIA');
    await harness.produce([intakeRecord(fiaIntake, poison as never), intakeRecord(intakeTopicOf(topics, 'NCCIA'), forged), intakeRecord(fiaIntake, referral)]);

    const get = (key: string) => fetch(`${api}/referrals/${referral.referralId}`, { headers: { authorization: `Bearer ${key}` } });
    const detail = await eventually(
      async () => (await get(keys.fia)).json() as Promise<{ referral?: { stage: string }; persons?: Array<{ name: string }> }>,
      (d) => d.referral?.stage === 'SCREENING',
      60_000,
      'referral in screening',
    );
    // Routed by workflows the worker loaded from the prebuilt bundle, not bundled at its start.
    expect(engine.output()).toContain('worker: workflows from a prebuilt bundle');
    expect(engine.output()).not.toContain('Workflow bundle created');
    // The data is there for those who need it: the API returns it to the lead agency.
    expect(detail.persons?.[0]?.name).toBe('Zarmina Qadeer-Logscan');
    const act = (name: string, key: string, body: object) =>
      fetch(`${api}/referrals/${referral.referralId}/actions/${name}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await act('acknowledge', keys.fia, {})).status).toBe(200);
    // A rejected action whose text quotes personal data.
    expect((await act('acknowledge', keys.swd, { reason: 'Zarmina Qadeer-Logscan asked' })).status).toBe(403);
    expect((await act('complete-screening', keys.fia, { outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: true, consent: 'GIVEN' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 3_000));
    await engine.stop();

    const logs = engine.output();
    expect(logs).toContain('referral started');
    expect(logs).toContain('message dead-lettered');
    expect(logs).toContain('intake refused');
    const secrets = referral.persons.flatMap((p) => Object.values(p).flat()).filter((v): v is string => typeof v === 'string' && v.length > 4 && !['VICTIM', 'SUSPECT'].includes(v));
    expect(secrets.length).toBeGreaterThan(6);
    for (const value of [...secrets, keys.fia, keys.swd]) expect(logs, `log contains "${value}"`).not.toContain(value);
  });
});
