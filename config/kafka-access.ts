import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AgencyCode } from '../schemas/common.js';
import { ConfigError, describeIssues } from './errors.js';

/**
 * Who may write and read what on the broker, as one table: every principal, every topic, every
 * ACL row. The broker enforces it (scripts/stack.sh applies it), the bridges read it to know
 * which agency stands behind each topic, and the matrix test checks the broker against it.
 *
 * - an agency WRITEs only `<intake>.<agency>` and `<actions>.<agency>`, READs only
 *   `<notify><agency>`, and uses consumer groups named `<agency>.…`;
 * - a partner organisation WRITEs only `<actions>.partner.<org>` and READs only
 *   `<notify>partner.<org>` (groups `partner-<org>.…`);
 * - the engine's principals each have what their part needs; operators READ the events, the
 *   dead letters and the codec server's audit records (nobody else does); the admin principal is
 *   the broker's only super user.
 */

const PrincipalName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,47}$/, 'lower-case letters, digits, "_" and "-" (at most 48)');
const PartnerCode = z.string().regex(/^[A-Z0-9][A-Z0-9_-]{0,31}$/, 'an organisation code in upper case (letters, digits, "_" and "-")');

export const KafkaAccessFile = z
  .object({
    $comment: z.string().optional(),
    partners: z.array(PartnerCode).min(1),
    operators: z.array(PrincipalName).min(1),
    engine: z
      .object({ intake: PrincipalName, actions: PrincipalName, publisher: PrincipalName, monitor: PrincipalName, redrive: PrincipalName, audit: PrincipalName })
      .strict(),
    admin: PrincipalName,
  })
  .strict();
export type KafkaAccessFile = z.infer<typeof KafkaAccessFile>;

export const defaultKafkaAccessFile = fileURLToPath(new URL('./kafka-access.json', import.meta.url));

/** Agencies with a principal and topics of their own: every agency code but the partners' umbrella code. */
export const brokerAgencies: readonly AgencyCode[] = AgencyCode.options.filter((a) => a !== 'PARTNER');

export function loadKafkaAccess(file: string = defaultKafkaAccessFile): KafkaAccessFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(file, [`cannot read the broker access table: ${(err as Error).message}`]);
  }
  const parsed = KafkaAccessFile.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, describeIssues(parsed.error));
  const names = allPrincipalNames(parsed.data);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError(file, [`principal "${dup}" is named twice`]);
  return parsed.data;
}

/** Topic names of the engine (config/env.ts Topics): intake and actions are prefixes of the per-sender topics. */
export interface AccessTopics {
  intake: string;
  actions: string;
  deadLetter: string;
  events: string;
  notifyPrefix: string;
  /**
   * The codec server's audit records (who decoded which referral's payloads, when): written by the
   * engine's audit principal alone, read by operators alone. Absent: no such topic and no rows
   * (topics under a test's own prefix, which the table does not name).
   */
  audit?: string;
}

export interface AccessGroups {
  intake: string;
  actions: string;
  redrive: string;
  /** The API's /metrics counts notifications and dead letters as they pass (default `referral-engine-metrics`). */
  metrics?: string;
}

/** Who stands behind a principal: an agency, a partner organisation, the engine, an operator, the admin. */
export type Sender = { kind: 'agency'; agency: AgencyCode } | { kind: 'partner'; organisation: string };

export const agencyPrincipal = (agency: string): string => agency.toLowerCase();
export const partnerPrincipal = (organisation: string): string => `partner-${organisation.toLowerCase()}`;

export function allPrincipalNames(access: KafkaAccessFile): string[] {
  return [
    ...brokerAgencies.map(agencyPrincipal),
    ...access.partners.map(partnerPrincipal),
    ...access.operators,
    ...Object.values(access.engine),
    access.admin,
  ];
}

/** The topic a sender writes its intake to, its actions to, and reads its notifications from. */
export function senderTopics(topics: AccessTopics, sender: Sender): { intake?: string; actions: string; notify: string } {
  if (sender.kind === 'agency') {
    const code = sender.agency.toLowerCase();
    return { intake: `${topics.intake}.${code}`, actions: `${topics.actions}.${code}`, notify: `${topics.notifyPrefix}${code}` };
  }
  const org = sender.organisation.toLowerCase();
  return { actions: `${topics.actions}.partner.${org}`, notify: `${topics.notifyPrefix}partner.${org}` };
}

export function senders(access: KafkaAccessFile): Sender[] {
  return [
    ...brokerAgencies.map((agency): Sender => ({ kind: 'agency', agency })),
    ...access.partners.map((organisation): Sender => ({ kind: 'partner', organisation })),
  ];
}

export function principalOf(sender: Sender): string {
  return sender.kind === 'agency' ? agencyPrincipal(sender.agency) : partnerPrincipal(sender.organisation);
}

/** Intake topic → the agency that alone may write it. */
export function intakeTopicSenders(access: KafkaAccessFile, topics: AccessTopics): Map<string, Sender> {
  const map = new Map<string, Sender>();
  for (const s of senders(access)) {
    const t = senderTopics(topics, s).intake;
    if (t) map.set(t, s);
  }
  return map;
}

/** Actions topic → the agency or partner organisation that alone may write it. */
export function actionsTopicSenders(access: KafkaAccessFile, topics: AccessTopics): Map<string, Sender> {
  return new Map(senders(access).map((s) => [senderTopics(topics, s).actions, s]));
}

/** The notification topic of a recipient (an agency code or a partner organisation code), if it has one. */
export function notifyTopicOf(access: KafkaAccessFile, topics: AccessTopics, recipient: string): string | undefined {
  const agency = AgencyCode.safeParse(recipient);
  if (agency.success && agency.data !== 'PARTNER') return senderTopics(topics, { kind: 'agency', agency: agency.data }).notify;
  if (access.partners.includes(recipient.toUpperCase())) return senderTopics(topics, { kind: 'partner', organisation: recipient.toUpperCase() }).notify;
  return undefined;
}

/** Every topic the engine uses, in a stable order (the stack creates exactly these). */
export function allTopics(access: KafkaAccessFile, topics: AccessTopics): string[] {
  const out: string[] = [];
  for (const s of senders(access)) {
    const t = senderTopics(topics, s);
    if (t.intake) out.push(t.intake);
    out.push(t.actions, t.notify);
  }
  out.push(topics.events, topics.deadLetter);
  if (topics.audit !== undefined) out.push(topics.audit);
  return out;
}

/** Every notification topic: one per agency and per partner organisation. */
export function allNotifyTopics(access: KafkaAccessFile, topics: AccessTopics): string[] {
  return senders(access).map((s) => senderTopics(topics, s).notify);
}

export type AclOperation = 'READ' | 'WRITE' | 'DESCRIBE';
export interface AclRow {
  principal: string;
  resourceType: 'TOPIC' | 'GROUP';
  patternType: 'LITERAL' | 'PREFIXED';
  resourceName: string;
  operation: AclOperation;
}

/**
 * The ACL table: ALLOW rows only (the broker denies whatever no row allows). READ and WRITE
 * imply DESCRIBE on the broker, so DESCRIBE rows appear only where nothing else is allowed.
 */
export function aclTable(access: KafkaAccessFile, topics: AccessTopics, groups: AccessGroups): AclRow[] {
  const rows: AclRow[] = [];
  const topic = (principal: string, resourceName: string, operation: AclOperation) =>
    rows.push({ principal, resourceType: 'TOPIC', patternType: 'LITERAL', resourceName, operation });
  const group = (principal: string, resourceName: string, patternType: AclRow['patternType'] = 'LITERAL') =>
    rows.push({ principal, resourceType: 'GROUP', patternType, resourceName, operation: 'READ' });
  const all = senders(access).map((s) => senderTopics(topics, s));
  const intakeTopics = all.flatMap((t) => (t.intake ? [t.intake] : []));
  const actionsTopics = all.map((t) => t.actions);
  const notifyTopics = all.map((t) => t.notify);

  for (const s of senders(access)) {
    const p = principalOf(s);
    const t = senderTopics(topics, s);
    if (t.intake) topic(p, t.intake, 'WRITE');
    topic(p, t.actions, 'WRITE');
    topic(p, t.notify, 'READ');
    group(p, `${p}.`, 'PREFIXED');
  }
  const e = access.engine;
  for (const t of intakeTopics) topic(e.intake, t, 'READ');
  group(e.intake, groups.intake);
  topic(e.intake, topics.deadLetter, 'WRITE');
  // An intake refused for its sender (ACTOR_MISMATCH) is answered on the sender's own topic.
  for (const t of notifyTopics) topic(e.intake, t, 'WRITE');

  for (const t of actionsTopics) topic(e.actions, t, 'READ');
  group(e.actions, groups.actions);
  for (const t of notifyTopics) topic(e.actions, t, 'WRITE');
  topic(e.actions, topics.deadLetter, 'WRITE');

  for (const t of notifyTopics) topic(e.publisher, t, 'WRITE');
  topic(e.publisher, topics.events, 'WRITE');

  // /metrics: consumer lag (the bridges' groups, their topics' end offsets), and notifications and
  // dead letters counted as they pass (ids, types and agencies only: no topic holds personal data).
  for (const t of [...intakeTopics, ...actionsTopics]) topic(e.monitor, t, 'DESCRIBE');
  for (const g of [groups.intake, groups.actions]) rows.push({ principal: e.monitor, resourceType: 'GROUP', patternType: 'LITERAL', resourceName: g, operation: 'DESCRIBE' });
  for (const t of [...notifyTopics, topics.deadLetter]) topic(e.monitor, t, 'READ');
  group(e.monitor, groups.metrics ?? 'referral-engine-metrics');

  // Re-driving puts a dead letter back on the topic it came from, byte for byte.
  topic(e.redrive, topics.deadLetter, 'READ');
  // PREFIXED: the group itself and `<group>-dry-run-…`, the throwaway group of `referrals redrive --dry-run`.
  group(e.redrive, groups.redrive, 'PREFIXED');
  for (const t of [...intakeTopics, ...actionsTopics]) topic(e.redrive, t, 'WRITE');

  // The codec server's audit records: its own principal writes them, nothing else touches them.
  if (topics.audit !== undefined) topic(e.audit, topics.audit, 'WRITE');

  for (const op of access.operators) {
    topic(op, topics.events, 'READ');
    topic(op, topics.deadLetter, 'READ');
    if (topics.audit !== undefined) topic(op, topics.audit, 'READ');
    group(op, `${op}.`, 'PREFIXED');
  }
  return rows;
}

/** What the table allows a principal to do with a topic (READ/WRITE imply DESCRIBE). */
export function allowedOnTopic(rows: readonly AclRow[], principal: string, topicName: string, operation: AclOperation): boolean {
  return rows.some(
    (r) =>
      r.principal === principal &&
      r.resourceType === 'TOPIC' &&
      (r.patternType === 'LITERAL' ? r.resourceName === topicName : topicName.startsWith(r.resourceName)) &&
      (r.operation === operation || (operation === 'DESCRIBE' && (r.operation === 'READ' || r.operation === 'WRITE'))),
  );
}
