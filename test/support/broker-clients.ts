import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

/** What the test stack's globalSetup provides about the broker's security (test/setup/stack.ts). */
export interface BrokerSecurity {
  /** The local CA the broker's certificate is signed by (PEM). */
  caFile: string;
  /** `{ "<principal>": "<password>" }`, mode 600, written once by the stack. */
  credentialsFile: string;
  /** The mTLS listener (client certificate required), when the stack has one. */
  mtlsBrokers?: string;
  /** `<tlsDir>/clients/<principal>.pem` and `.key`: each principal's client certificate and key. */
  tlsDir: string;
}

/** Fails fast: a refused request is an answer, not something to retry. */
export const quickClient: Pick<KafkaConfig, 'connectionTimeout' | 'authenticationTimeout' | 'requestTimeout' | 'retry' | 'logLevel'> = {
  connectionTimeout: 3000,
  authenticationTimeout: 5000,
  requestTimeout: 10000,
  retry: { retries: 0 },
  logLevel: logLevel.NOTHING,
};

export function readCredentials(security: BrokerSecurity): Record<string, string> {
  return JSON.parse(readFileSync(security.credentialsFile, 'utf8')) as Record<string, string>;
}

export function passwordOf(security: BrokerSecurity, principal: string): string {
  const password = readCredentials(security)[principal];
  if (typeof password !== 'string') throw new Error(`${security.credentialsFile} has no password for ${principal}`);
  return password;
}

export function caPem(security: BrokerSecurity): string {
  return readFileSync(security.caFile, 'utf8');
}

export const clientCertFile = (security: BrokerSecurity, principal: string): string => `${security.tlsDir}/clients/${principal}.pem`;
export const clientKeyFile = (security: BrokerSecurity, principal: string): string => `${security.tlsDir}/clients/${principal}.key`;

/** Settings of a client logging in as `principal` with its password: SCRAM-SHA-512 over TLS, trusting only the stack's CA. */
export function saslConfig(brokers: string, security: BrokerSecurity, principal: string, password = passwordOf(security, principal)): KafkaConfig {
  return {
    clientId: `broker-trust-${principal}`,
    brokers: brokers.split(','),
    ssl: { ca: [caPem(security)], rejectUnauthorized: true },
    sasl: { mechanism: 'scram-sha-512', username: principal, password },
    ...quickClient,
  };
}

/** Settings of a client logging in by `principal`'s certificate (CN=<principal>) on the mTLS listener. */
export function certConfig(security: BrokerSecurity, principal: string): KafkaConfig {
  if (!security.mtlsBrokers) throw new Error('the stack has no mTLS listener (KAFKA_MTLS_PORT=off)');
  return {
    clientId: `broker-trust-${principal}-cert`,
    brokers: security.mtlsBrokers.split(','),
    ssl: {
      ca: [caPem(security)],
      cert: readFileSync(clientCertFile(security, principal), 'utf8'),
      key: readFileSync(clientKeyFile(security, principal), 'utf8'),
      rejectUnauthorized: true,
    },
    ...quickClient,
  };
}

export const saslClient = (brokers: string, security: BrokerSecurity, principal: string): Kafka => new Kafka(saslConfig(brokers, security, principal));
export const certClient = (security: BrokerSecurity, principal: string): Kafka => new Kafka(certConfig(security, principal));
