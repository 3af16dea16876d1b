/**
 * The engine over mutual TLS: every client of the real engine process proves who it is with its
 * own certificate (CN=engine-intake, CN=engine-actions, CN=engine-publisher) on the broker's
 * mTLS listener, under the same ACL table, while FIA sends with its password over SASL_SSL.
 * This is the README's worked mTLS configuration, run.
 */
import { Client, Connection } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeyRing } from '../../codec/aes-gcm-codec.js';
import { createDataConverter } from '../../codec/data-converter.js';
import type { Topics } from '../../config/env.js';
import { intakeRecord } from '../../scripts/intake-event.js';
import { referralStateQuery } from '../../workflows/messages.js';
import { clientCertFile, clientKeyFile } from '../support/broker-clients.js';
import { shippedTopics, shippedTopicsEnv, startEngineProcess, type EngineProcess } from '../support/engine-process.js';
import { detected, uniqueId } from '../support/fixtures.js';
import { eventually, KafkaHarness, type ReadRecord } from '../support/kafka-harness.js';
import { intakeTopicOf, kafkajsAuth, notifyTopicOf } from '../support/test-kafka.js';

const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const security = inject('kafkaSecurity');
const run = uniqueId('mtls');
const topics: Topics = shippedTopics;
const keyBase64 = randomBytes(32).toString('base64');

describe('the engine connected by client certificates (mTLS)', () => {
  const observer = new KafkaHarness(brokers);
  let engine: EngineProcess;
  let connection: Connection;
  let client: Client;
  let seen: ReadRecord[];

  beforeAll(async () => {
    if (!security.mtlsBrokers) throw new Error('the test stack has no mTLS listener');
    seen = await observer.collect([notifyTopicOf(topics, 'FIA')]);
    const cert = (variable: string, principal: string) => ({
      [`KAFKA_${variable}_CERT_FILE`]: clientCertFile(security, principal),
      [`KAFKA_${variable}_KEY_FILE`]: clientKeyFile(security, principal),
    });
    engine = await startEngineProcess({
      run,
      temporalAddress,
      brokers: security.mtlsBrokers,
      env: {
        ENGINE_ROLES: 'worker,bridge',
        KAFKA_SECURITY_PROTOCOL: 'SSL',
        KAFKA_SSL_CA_FILE: security.caFile,
        KAFKA_CREDENTIALS_FILE: '/nonexistent/no-passwords-needed.json',
        ...cert('INTAKE', 'engine-intake'),
        ...cert('ACTIONS', 'engine-actions'),
        ...cert('PUBLISHER', 'engine-publisher'),
        ...shippedTopicsEnv(),
        PAYLOAD_KEYS: `mtls:${keyBase64}`,
        WORKER_METRICS_ADDRESS: '0',
        CODEC_SERVER_PORT: '0',
      },
    });
    connection = await Connection.connect({ address: temporalAddress });
    client = new Client({ connection, dataConverter: createDataConverter(new KeyRing('mtls', { mtls: Buffer.from(keyBase64, 'base64') })) });
  }, 120_000);

  afterAll(async () => {
    await engine?.stop();
    await connection?.close();
    await observer.close();
  });

  it('starts FIA\'s referral and notifies FIA, every engine client authenticated by its certificate', async () => {
    const referral = detected({ sourceAgency: 'FIA' });
    const sender = new KafkaHarness(brokers, kafkajsAuth('fia'));
    await sender.produce([intakeRecord(intakeTopicOf(topics, 'FIA'), referral, 'urn:agency:fia')]);
    await sender.close();
    const routed = await eventually(
      () => seen.filter((r) => r.key === referral.referralId && r.headers['ce_type'] === 'referral.routed.v1'),
      (r) => r.length === 1,
      60_000,
      'FIA told of its referral',
    );
    expect(routed[0]!.topic).toBe('referrals.notify.fia');
    expect((await client.workflow.getHandle(`referral-${referral.referralId}`).query(referralStateQuery)).stage).not.toBe('ROUTING');
    // The process said nothing about a password: there is none in this configuration.
    expect(engine.output()).not.toMatch(/KAFKA_CREDENTIALS_FILE|password/i);
  });
});
