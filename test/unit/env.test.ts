/**
 * Environment parsing (config/env.ts): embedded defaults match the local stack, overrides are
 * read, and every bad variable is named in one ConfigError.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { defaultIdentitiesFile, defaultKafkaCaFile, defaultKafkaCredentialsFile, defaultPolicyFile, loadEngineConfig, notificationTopic } from '../../config/env.js';
import { defaultPayloadKeysFile } from '../../codec/keys.js';
import { ConfigError } from '../../config/errors.js';
import { resolveTemporalConnection } from '../../config/temporal-connection.js';

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadEngineConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected loadEngineConfig to throw');
}

describe('loadEngineConfig', () => {
  it('gives the embedded defaults for an empty environment', () => {
    const config = loadEngineConfig({});
    expect(config).toEqual({
      temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'referrals', uiUrl: 'http://127.0.0.1:8233' },
      kafka: {
        brokers: ['127.0.0.1:9092'],
        clientId: 'referral-engine',
        intakeGroup: 'referral-engine-intake',
        actionsGroup: 'referral-engine-actions',
        topics: {
          intake: 'referrals.intake',
          actions: 'referrals.actions',
          deadLetter: 'referrals.dead-letter',
          events: 'referrals.events',
          notifyPrefix: 'referrals.notify.',
          audit: 'referrals.audit',
        },
        security: {
          protocol: 'SASL_SSL',
          mechanism: 'SCRAM-SHA-512',
          // The local stack's CA is the default only once `npm run stack -- up` has written it.
          ...(existsSync(defaultKafkaCaFile) ? { caFile: defaultKafkaCaFile } : {}),
          caFileIsDefault: true,
          credentialsFile: defaultKafkaCredentialsFile,
          credentialsFileIsDefault: true,
          clients: { intake: {}, actions: {}, publisher: {}, monitor: {}, redrive: {}, audit: {} },
        },
        sharedTopics: false,
      },
      policyFile: defaultPolicyFile,
      logLevel: 'info',
      logPretty: false,
      roles: ['worker', 'bridge', 'codec', 'api'],
      shutdownGraceMs: 10_000,
      payloadKeys: { source: 'PAYLOAD_KEYS_FILE', file: defaultPayloadKeysFile, isDefault: true },
      codecServer: { host: '127.0.0.1', port: 8234, uiOrigin: 'http://127.0.0.1:8233', sessionTtlSeconds: 3600 },
      api: { host: '127.0.0.1', port: 8080, identitiesFile: defaultIdentitiesFile, rateLimitPerMinute: 600, exportMinCell: 5 },
      workerMetricsAddress: '127.0.0.1:9464',
      workerMaxCachedWorkflows: 450,
    });
    expect(defaultPolicyFile).toMatch(/config[/\\]policy\.json$/);
  });

  it('reads overrides', () => {
    const config = loadEngineConfig({
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'referrals-prod',
      KAFKA_BROKERS: 'k1:9092, k2:9093 ,',
      KAFKA_TOPIC_INTAKE: 'intake.v2',
      KAFKA_TOPIC_NOTIFY_PREFIX: 'notify.',
      POLICY_FILE: '/etc/referrals/policy.json',
      LOG_LEVEL: 'debug',
      LOG_PRETTY: '1',
      ENGINE_ROLES: 'bridge',
      SHUTDOWN_GRACE_MS: '2500',
    });
    expect(config.temporal.address).toBe('temporal:7233');
    expect(config.temporal.namespace).toBe('referrals-prod');
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9093']);
    expect(config.kafka.topics.intake).toBe('intake.v2');
    expect(config.kafka.topics.actions).toBe('referrals.actions');
    expect(config.kafka.topics.notifyPrefix).toBe('notify.');
    expect(config.policyFile).toBe('/etc/referrals/policy.json');
    expect(config.logLevel).toBe('debug');
    expect(config.logPretty).toBe(true);
    expect(config.roles).toEqual(['bridge']);
    expect(config.shutdownGraceMs).toBe(2500);
  });

  it('reads the Kafka security settings, the access file and the shared-topics switch', () => {
    const config = loadEngineConfig({
      KAFKA_SECURITY_PROTOCOL: 'SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
      KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem',
      KAFKA_SSL_SERVERNAME: 'broker.internal',
      KAFKA_CREDENTIALS_FILE: '/etc/kafka/credentials.json',
      KAFKA_ACCESS_FILE: '/etc/kafka/access.json',
      KAFKA_SHARED_TOPICS: 'true',
      KAFKA_INTAKE_USERNAME: 'intake-prod',
      KAFKA_INTAKE_PASSWORD_FILE: '/run/secrets/intake',
      KAFKA_ACTIONS_PASSWORD: 'not-a-real-password',
      KAFKA_PUBLISHER_CERT_FILE: '/etc/kafka/publisher.pem',
      KAFKA_PUBLISHER_KEY_FILE: '/etc/kafka/publisher.key',
    });
    const { security } = config.kafka;
    expect(security.protocol).toBe('SSL');
    expect(security.mechanism).toBe('SCRAM-SHA-256');
    expect(security.caFile).toBe('/etc/kafka/ca.pem');
    expect(security.caFileIsDefault).toBe(false);
    expect(security.servername).toBe('broker.internal');
    expect(security.credentialsFile).toBe('/etc/kafka/credentials.json');
    expect(security.credentialsFileIsDefault).toBe(false);
    expect(security.clients).toEqual({
      intake: { username: 'intake-prod', passwordFile: '/run/secrets/intake' },
      actions: { password: 'not-a-real-password' },
      publisher: { certFile: '/etc/kafka/publisher.pem', keyFile: '/etc/kafka/publisher.key' },
      monitor: {},
      redrive: {},
      audit: {},
    });
    expect(config.kafka.accessFile).toBe('/etc/kafka/access.json');
    expect(config.kafka.sharedTopics).toBe(true);
  });

  it('names a bad KAFKA_SECURITY_PROTOCOL and a bad KAFKA_SASL_MECHANISM', () => {
    const err = configError({ KAFKA_SECURITY_PROTOCOL: 'TLS', KAFKA_SASL_MECHANISM: 'GSSAPI' });
    const named = err.problems.map((p) => p.split(/[.:]/)[0]);
    expect(new Set(named)).toEqual(new Set(['KAFKA_SECURITY_PROTOCOL', 'KAFKA_SASL_MECHANISM']));
  });

  it('names a client certificate without its key, a key without its certificate, and a password given twice', () => {
    const err = configError({
      KAFKA_INTAKE_CERT_FILE: '/etc/kafka/intake.pem',
      KAFKA_MONITOR_KEY_FILE: '/etc/kafka/monitor.key',
      KAFKA_REDRIVE_PASSWORD: 'not-a-real-password',
      KAFKA_REDRIVE_PASSWORD_FILE: '/run/secrets/redrive',
    });
    const named = err.problems.map((p) => p.split(/[.:]/)[0]);
    expect(new Set(named)).toEqual(new Set(['KAFKA_INTAKE_KEY_FILE', 'KAFKA_MONITOR_CERT_FILE', 'KAFKA_REDRIVE_PASSWORD_FILE']));
    expect(err.problems).toHaveLength(3);
    // A problem names the variable, never a password.
    expect(err.message).not.toContain('not-a-real-password');
  });

  it('rejects a bad KAFKA_SHARED_TOPICS', () => {
    const err = configError({ KAFKA_SHARED_TOPICS: 'maybe' });
    expect(err.problems.map((p) => p.split(/[.:]/)[0])).toEqual(['KAFKA_SHARED_TOPICS']);
  });

  it('names EACH bad variable in one ConfigError', () => {
    const err = configError({
      TEMPORAL_ADDRESS: 'nope',
      KAFKA_BROKERS: 'a:1,bad',
      LOG_LEVEL: 'loud',
      ENGINE_ROLES: 'scheduler',
    });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.source).toBe('environment');
    const named = err.problems.map((p) => p.split(/[.:]/)[0]);
    expect(new Set(named)).toEqual(new Set(['TEMPORAL_ADDRESS', 'KAFKA_BROKERS', 'LOG_LEVEL', 'ENGINE_ROLES']));
    for (const name of ['TEMPORAL_ADDRESS', 'KAFKA_BROKERS', 'LOG_LEVEL', 'ENGINE_ROLES']) {
      expect(err.message).toContain(name);
    }
  });

  it('takes EXPORT_MIN_CELL from 2 to 1000 (default 5) and names it otherwise', () => {
    expect(loadEngineConfig({ EXPORT_MIN_CELL: '11' }).api.exportMinCell).toBe(11);
    for (const bad of ['1', '0', '2.5', 'five', '1001']) {
      const err = configError({ EXPORT_MIN_CELL: bad });
      expect(err.problems, bad).toHaveLength(1);
      expect(err.problems[0]).toMatch(/^EXPORT_MIN_CELL: /);
    }
  });

  it('rejects a bad grace period and a bad boolean', () => {
    const err = configError({ SHUTDOWN_GRACE_MS: 'soon', LOG_PRETTY: 'yes' });
    const named = err.problems.map((p) => p.split(/[.:]/)[0]);
    expect(new Set(named)).toEqual(new Set(['SHUTDOWN_GRACE_MS', 'LOG_PRETTY']));
  });

  it('takes a prebuilt workflow bundle that exists, and names the variable when it does not', () => {
    expect(loadEngineConfig({ WORKER_WORKFLOW_BUNDLE: defaultPolicyFile }).workerWorkflowBundle).toBe(defaultPolicyFile);
    expect(loadEngineConfig({}).workerWorkflowBundle).toBeUndefined();
    const err = configError({ WORKER_WORKFLOW_BUNDLE: '/nonexistent/workflows.bundle.js' });
    expect(err.problems).toEqual([expect.stringMatching(/^WORKER_WORKFLOW_BUNDLE: no such file \(build it with: npm run bundle-workflows\)/)]);
  });

  it('treats empty strings as unset', () => {
    const config = loadEngineConfig({ TEMPORAL_ADDRESS: '', KAFKA_BROKERS: '', LOG_LEVEL: '', ENGINE_ROLES: '', KAFKA_TOPIC_INTAKE: '' });
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.logLevel).toBe('info');
    expect(config.roles).toEqual(['worker', 'bridge', 'codec', 'api']);
    expect(config.kafka.topics.intake).toBe('referrals.intake');
  });

  it('ignores variables it does not know', () => {
    expect(() => loadEngineConfig({ PATH: '/usr/bin', HOME: '/root' })).not.toThrow();
  });
});

describe('notificationTopic', () => {
  it('is the prefix and the agency code in lower case', () => {
    const { topics } = loadEngineConfig({}).kafka;
    expect(notificationTopic(topics, 'FIA')).toBe('referrals.notify.fia');
    expect(notificationTopic(topics, 'AHTC-N')).toBe('referrals.notify.ahtc-n');
    expect(notificationTopic({ ...topics, notifyPrefix: 'x.' }, 'NCCIA')).toBe('x.nccia');
  });
});

describe('Temporal connection: TLS, mTLS and API key (TEMPORAL_TLS_*, TEMPORAL_API_KEY[_FILE])', () => {
  const dir = mkdtempSync(join(tmpdir(), 'temporal-tls-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
  const crt = file('client.pem', '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n');
  const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
  const apiKeyFile = file('api-key', 'secret-key-from-a-file\n');

  it('connects in plaintext, as to the local stack, when nothing is set', () => {
    const t = loadEngineConfig({}).temporal;
    expect(resolveTemporalConnection(t)).toEqual({ address: '127.0.0.1:7233' });
  });

  it('self-hosted with mTLS: the CA, the client certificate pair and the server name, read from the files', () => {
    const t = loadEngineConfig({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CA_FILE: ca,
      TEMPORAL_TLS_CERT_FILE: crt,
      TEMPORAL_TLS_KEY_FILE: key,
      TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.internal',
    }).temporal;
    const c = resolveTemporalConnection(t);
    expect(c.address).toBe('temporal.internal:7233');
    expect(c.apiKey).toBeUndefined();
    expect(c.tls).toEqual({
      serverRootCACertificate: readFileSync(ca),
      clientCertPair: { crt: readFileSync(crt), key: readFileSync(key) },
      serverNameOverride: 'frontend.temporal.internal',
    });
  });

  it('Temporal Cloud with an API key: TLS with the public CAs, the key from the variable or from a file', () => {
    const direct = resolveTemporalConnection(loadEngineConfig({ TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233', TEMPORAL_NAMESPACE: 'referrals.a1b2c', TEMPORAL_API_KEY: 'k1' }).temporal);
    expect(direct).toEqual({ address: 'eu-west-1.aws.api.temporal.io:7233', tls: true, apiKey: 'k1' });
    const fromFile = resolveTemporalConnection(loadEngineConfig({ TEMPORAL_API_KEY_FILE: apiKeyFile }).temporal);
    expect(fromFile.apiKey).toBe('secret-key-from-a-file');
    expect(fromFile.tls).toBe(true);
    // Cloud with an mTLS certificate instead: no API key, the pair only.
    const mtls = resolveTemporalConnection(loadEngineConfig({ TEMPORAL_TLS_CERT_FILE: crt, TEMPORAL_TLS_KEY_FILE: key }).temporal);
    expect(mtls).toEqual({ address: '127.0.0.1:7233', tls: { clientCertPair: { crt: readFileSync(crt), key: readFileSync(key) } } });
  });

  it('names every bad variable at start: half a certificate pair, both API key forms, with the others', () => {
    const err = configError({ TEMPORAL_TLS_CERT_FILE: crt, TEMPORAL_API_KEY: 'k', TEMPORAL_API_KEY_FILE: apiKeyFile, TEMPORAL_ADDRESS: 'no-port' });
    expect(err.problems.join('\n')).toMatch(/TEMPORAL_TLS_KEY_FILE: a client certificate needs both/);
    expect(err.problems.join('\n')).toMatch(/TEMPORAL_API_KEY_FILE: set either TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE/);
    expect(err.problems.join('\n')).toMatch(/TEMPORAL_ADDRESS/);
    expect(configError({ TEMPORAL_TLS_KEY_FILE: key }).problems.join('\n')).toMatch(/TEMPORAL_TLS_CERT_FILE: a client certificate needs both/);
  });

  it('names every unreadable file before connecting', () => {
    const t = loadEngineConfig({ TEMPORAL_TLS_CA_FILE: join(dir, 'missing-ca.pem'), TEMPORAL_TLS_CERT_FILE: crt, TEMPORAL_TLS_KEY_FILE: join(dir, 'missing.key') }).temporal;
    let problems: string[] = [];
    try {
      resolveTemporalConnection(t);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      problems = (err as ConfigError).problems;
    }
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^TEMPORAL_TLS_CA_FILE: cannot read .*missing-ca\.pem \(ENOENT\)/);
    expect(problems[1]).toMatch(/^TEMPORAL_TLS_KEY_FILE: cannot read .*missing\.key \(ENOENT\)/);
    const empty = file('empty-key', '\n');
    expect(() => resolveTemporalConnection(loadEngineConfig({ TEMPORAL_API_KEY_FILE: empty }).temporal)).toThrow(/TEMPORAL_API_KEY_FILE: .* is empty/);
  });
});
