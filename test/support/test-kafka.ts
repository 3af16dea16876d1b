import { inject } from 'vitest';
import { allTopics, loadKafkaAccess, senderTopics, type Sender } from '../../config/kafka-access.js';
import { KAFKA_CLIENTS, type Topics } from '../../config/env.js';
import type { KafkaSecurity } from '../../messaging/kafka.js';
import { AgencyCode } from '../../schemas/common.js';
import { caPem, passwordOf } from './broker-clients.js';

/**
 * The test stack's broker speaks SASL_SSL with SCRAM-SHA-512 and enforces ACLs
 * (scripts/stack.sh). Tests connect as a principal of config/kafka-access.json with the
 * development passwords the stack generated; `admin` is the broker's super user, which the
 * tests whose topics carry a run prefix use (the ACL table names the shipped topics only).
 */
export interface PrincipalCredentials {
  username: string;
  password: string;
  ca: string;
}

export function stackCredentials(principal = 'admin'): PrincipalCredentials {
  const security = inject('kafkaSecurity');
  return { username: principal, password: passwordOf(security, principal), ca: caPem(security) };
}

/** kafkajs `ssl` and `sasl` options of a principal (for the tests' own plain kafkajs clients). */
export function kafkajsAuth(principal = 'admin') {
  const c = stackCredentials(principal);
  return {
    ssl: { ca: [c.ca], rejectUnauthorized: true },
    sasl: { mechanism: 'scram-sha-512' as const, username: c.username, password: c.password },
  };
}

/** The engine's messaging module's settings for a principal. */
export function engineSecurity(principal = 'admin'): KafkaSecurity {
  const c = stackCredentials(principal);
  return { protocol: 'SASL_SSL', sasl: { mechanism: 'scram-sha-512', username: c.username, password: c.password }, tls: { ca: c.ca } };
}

/** Environment of an engine process whose every client connects as `principal`. */
export function engineSecurityEnv(principal = 'admin'): Record<string, string> {
  const { caFile, credentialsFile } = inject('kafkaSecurity');
  const users = Object.fromEntries(KAFKA_CLIENTS.map((c) => c.toUpperCase()).map((c) => [`KAFKA_${c}_USERNAME`, principal]));
  return { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SSL_CA_FILE: caFile, KAFKA_CREDENTIALS_FILE: credentialsFile, ...users };
}

/** Every topic the engine reads or writes under these names (per-sender intake and actions, notifications, events, dead letters). */
export function engineTopicList(topics: Topics): string[] {
  return allTopics(loadKafkaAccess(), topics);
}

/** The sender behind an agency code or a partner organisation code. */
export function senderOf(code: string): Sender {
  const agency = AgencyCode.safeParse(code);
  return agency.success && agency.data !== 'PARTNER' ? { kind: 'agency', agency: agency.data } : { kind: 'partner', organisation: code };
}

/** The topic an agency (or partner organisation) writes its actions to. */
export function actionsTopicOf(topics: Topics, code: string): string {
  return senderTopics(topics, senderOf(code)).actions;
}

/** The topic an agency writes its intakes to. */
export function intakeTopicOf(topics: Topics, agency: string): string {
  const t = senderTopics(topics, senderOf(agency)).intake;
  if (!t) throw new Error(`${agency} has no intake topic`);
  return t;
}

/** The notification topic of an agency or partner organisation. */
export function notifyTopicOf(topics: Topics, code: string): string {
  return senderTopics(topics, senderOf(code)).notify;
}
