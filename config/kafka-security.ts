import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { KafkaSecurity } from '../messaging/kafka.js';
import type { KafkaClientName, KafkaSecurityConfig } from './env.js';
import { ConfigError } from './errors.js';
import type { KafkaAccessFile } from './kafka-access.js';

/** `{ "<principal>": "<password>" }`, as `npm run stack -- up` writes it (mode 600). */
export const KafkaCredentialsFile = z.record(z.string().min(1), z.string().min(1));
export type KafkaCredentialsFile = z.infer<typeof KafkaCredentialsFile>;

const MECHANISMS = { 'SCRAM-SHA-512': 'scram-sha-512', 'SCRAM-SHA-256': 'scram-sha-256', PLAIN: 'plain' } as const;

/** The principal each engine client authenticates as, unless KAFKA_<CLIENT>_USERNAME says otherwise. */
export function defaultUsername(access: KafkaAccessFile, client: KafkaClientName): string {
  return access.engine[client];
}

function readText(file: string, variable: string, problems: string[], what: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`${variable}: cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return undefined;
  }
}

/**
 * Reads what the security settings point at (CA, passwords, client certificates) and returns one
 * KafkaSecurity per client asked for. Every problem is collected and named by its variable;
 * no password is ever part of a message.
 */
export function resolveKafkaSecurity(config: KafkaSecurityConfig, access: KafkaAccessFile, clients: readonly KafkaClientName[]): Record<KafkaClientName, KafkaSecurity> {
  const problems: string[] = [];
  const tlsOn = config.protocol === 'SASL_SSL' || config.protocol === 'SSL';
  const saslOn = config.protocol === 'SASL_SSL' || config.protocol === 'SASL_PLAINTEXT';
  let ca: string | undefined;
  if (tlsOn && config.caFile) ca = readText(config.caFile, 'KAFKA_SSL_CA_FILE', problems, 'the CA file');
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) problems.push(`KAFKA_SSL_CA_FILE: ${config.caFile} holds no PEM certificate`);

  let credentials: KafkaCredentialsFile | undefined;
  const needsFile = saslOn && clients.some((c) => !config.clients[c].password && !config.clients[c].passwordFile);
  if (needsFile) {
    if (!config.credentialsFile) problems.push('KAFKA_CREDENTIALS_FILE: no password is set for some Kafka clients and no credentials file is named');
    else {
      const text = readText(config.credentialsFile, 'KAFKA_CREDENTIALS_FILE', problems, 'the credentials file');
      if (text === undefined && config.credentialsFileIsDefault) problems.push('KAFKA_CREDENTIALS_FILE: the local stack writes it: run `npm run stack -- up` (or set KAFKA_<CLIENT>_PASSWORD)');
      if (text !== undefined) {
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch {
          problems.push(`KAFKA_CREDENTIALS_FILE: ${config.credentialsFile} is not JSON`);
        }
        const parsed = KafkaCredentialsFile.safeParse(raw);
        if (raw !== undefined && !parsed.success) problems.push(`KAFKA_CREDENTIALS_FILE: ${config.credentialsFile} must map principal names to passwords`);
        if (parsed.success) credentials = parsed.data;
      }
    }
  }

  const out = {} as Record<KafkaClientName, KafkaSecurity>;
  for (const client of clients) {
    const v = `KAFKA_${client.toUpperCase()}`;
    const c = config.clients[client];
    const username = c.username ?? defaultUsername(access, client);
    let password = c.password;
    if (saslOn && password === undefined && c.passwordFile) password = readText(c.passwordFile, `${v}_PASSWORD_FILE`, problems, 'the password file')?.trim();
    if (saslOn && password === undefined && credentials) {
      password = credentials[username];
      if (password === undefined) problems.push(`${v}_PASSWORD: no password for principal "${username}" (not set, and not in ${config.credentialsFile})`);
    }
    let cert: string | undefined;
    let key: string | undefined;
    if (c.certFile && c.keyFile) {
      if (!tlsOn) problems.push(`${v}_CERT_FILE: a client certificate needs KAFKA_SECURITY_PROTOCOL SSL or SASL_SSL, not ${config.protocol}`);
      cert = readText(c.certFile, `${v}_CERT_FILE`, problems, 'the client certificate');
      key = readText(c.keyFile, `${v}_KEY_FILE`, problems, 'the client key');
      if (cert !== undefined && !cert.includes('-----BEGIN CERTIFICATE-----')) problems.push(`${v}_CERT_FILE: ${c.certFile} holds no PEM certificate`);
      if (key !== undefined && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) problems.push(`${v}_KEY_FILE: ${c.keyFile} holds no PEM private key`);
    } else if (config.protocol === 'SSL') {
      problems.push(`${v}_CERT_FILE: KAFKA_SECURITY_PROTOCOL=SSL authenticates by client certificate: set ${v}_CERT_FILE and ${v}_KEY_FILE`);
    }
    out[client] = {
      protocol: config.protocol,
      ...(saslOn && password !== undefined ? { sasl: { mechanism: MECHANISMS[config.mechanism], username, password } } : {}),
      ...(tlsOn
        ? { tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(config.servername ? { servername: config.servername } : {}) } }
        : {}),
    };
  }
  if (problems.length > 0) throw new ConfigError('environment', [...new Set(problems)]);
  return out;
}

/**
 * The settings of a client that acts as some other principal (the demo sends as each detecting
 * agency), its password taken from the credentials file.
 */
export function resolveSecurityAs(config: KafkaSecurityConfig, access: KafkaAccessFile, username: string): KafkaSecurity {
  return resolveKafkaSecurity({ ...config, clients: { ...config.clients, publisher: { username } } }, access, ['publisher']).publisher;
}
