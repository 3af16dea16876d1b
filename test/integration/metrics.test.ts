import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256Hex } from '../../api/auth.js';
import { intakeRecord } from '../../scripts/intake-event.js';
import { detected, uniqueId } from '../support/fixtures.js';
import { engineTopicEnv, startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { eventually, KafkaHarness } from '../support/kafka-harness.js';
import { prefixedTopics } from '../support/engine-harness.js';
import { intakeTopicOf } from '../support/test-kafka.js';
import { repoRoot } from '../support/stack-paths.js';

const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const run = uniqueId('metrics');
const apiPort = 21_000 + (process.pid % 20_000);
const workerMetricsPort = apiPort + 1;

/** Prometheus metrics of a real engine process: the API's engine metrics and the worker's SDK metrics. */
describe('metrics from the API and the worker', () => {
  const harness = new KafkaHarness(brokers);
  let engine: EngineProcess;
  const topics = prefixedTopics(run);
  /** FIA sends on its own intake topic. */
  const fiaIntake = intakeTopicOf(topics, 'FIA');

  beforeAll(async () => {
    // The engine process's topic names (engineTopicEnv) are these.
    expect(engineTopicEnv(run).KAFKA_TOPIC_INTAKE).toBe(topics.intake);
    await harness.createEngineTopics(topics);
    const dir = mkdtempSync(join(tmpdir(), 'metrics-'));
    const identities = join(dir, 'identities.json');
    writeFileSync(identities, JSON.stringify({ identities: [{ id: 'op', agency: 'MOI', role: 'operator', keySha256: sha256Hex('op-key') }] }));
    // A policy whose acknowledgement is due in 2 s, so the ladder fires within the test.
    const policy = JSON.parse(await (await import('node:fs/promises')).readFile(`${repoRoot}config/policy.json`, 'utf8'));
    policy.sla.acknowledge = { deadline: { hours: 2 / 3600 } };
    const policyFile = join(dir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify(policy));
    engine = await startEngineProcess({
      run,
      temporalAddress,
      brokers,
      env: {
        ENGINE_ROLES: 'worker,bridge,api',
        LOG_LEVEL: 'info',
        POLICY_FILE: policyFile,
        API_PORT: String(apiPort),
        API_IDENTITIES_FILE: identities,
        WORKER_METRICS_ADDRESS: `127.0.0.1:${workerMetricsPort}`,
      },
    });
  });

  afterAll(async () => {
    await engine?.stop();
    await harness.close();
  });

  it('counts referrals by stage, SLA notifications by agency, dead letters and consumer lag; the worker serves SDK metrics', async () => {
    const referral = detected();
    await harness.produce([
      { topic: fiaIntake, key: 'x', value: 'not json', headers: { ce_specversion: '1.0', ce_type: 'referral.detected.v1' } },
      intakeRecord(fiaIntake, referral),
    ]);
    const scrape = async () => (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
    const metric = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 'NaN');
    const text = await eventually(
      scrape,
      (t) => metric(t, /referral_engine_sla_notifications_total\{kind="BREACH",step="acknowledge",agency="FIA"\} (\d+)/) >= 1,
      60_000,
      'an acknowledgement breach counted',
    );
    expect(metric(text, /referral_engine_referrals\{stage="SCREENING"\} (\d+)/)).toBeGreaterThanOrEqual(1);
    expect(metric(text, new RegExp(`referral_engine_dead_letters_total\\{source_topic="${run}\\.intake\\.fia",reason="INVALID_CLOUDEVENT"\\} (\\d+)`))).toBe(1);
    expect(text).toMatch(new RegExp(`referral_engine_consumer_lag\\{group="${run}-intake",topic="${run}\\.intake\\.fia",partition="\\d"\\} 0`));
    const worker = await (await fetch(`http://127.0.0.1:${workerMetricsPort}/metrics`)).text();
    expect(worker).toMatch(/temporal_(workflow|activity)_/);
  });
});
