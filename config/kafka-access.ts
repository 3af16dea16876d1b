import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { committeeTopicSuffix } from '../domain/jurisdiction.js';
import { AgencyCode, Province } from '../schemas/common.js';
import { districtsByProvince } from '../schemas/jurisdiction.js';
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
 * - a district or provincial committee with a seat in the table (`committees`) READs only its
 *   jurisdiction's `<notify>ahtc-d.<province>.<district>` / `<notify>ahtc-p.<province>` (groups
 *   `<principal>.…`), as the principal of the same name (`ahtc-d.punjab.lahore`): no
 *   district's committee reads another's; they act through the HTTP API, where their jurisdiction
 *   is part of their identity;
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
    /** The district (`PROVINCE:DISTRICT`, district codes of schemas/jurisdiction.ts) and provincial committees with a topic and principal of their own. */
    committees: z
      .object({
        'AHTC-D': z.array(z.string().refine(isDistrictSeat, 'expected PROVINCE:DISTRICT with a district code of schemas/jurisdiction.ts, e.g. PUNJAB:LAHORE')).default([]),
        'AHTC-P': z.array(Province).default([]),
      })
      .strict()
      .optional(),
  })
  .strict();
export type KafkaAccessFile = z.infer<typeof KafkaAccessFile>;

function isDistrictSeat(seat: string): boolean {
  const [province, district, ...rest] = seat.split(':');
  const known = Province.safeParse(province);
  return rest.length === 0 && known.success && district !== undefined && districtsByProvince[known.data].includes(district);
}

/** A committee's seat on the broker: its principal (named as its topic's suffix, `ahtc-d.punjab.lahore`) and the one topic it reads. */
export interface CommitteeSeat {
  committee: 'AHTC-D' | 'AHTC-P';
  province: string;
  district?: string;
  principal: string;
  /** The topic suffix after the notify prefix (`ahtc-d.punjab.lahore`, `ahtc-p.punjab`). */
  suffix: string;
}

export function committeeSeats(access: KafkaAccessFile): CommitteeSeat[] {
  const c = access.committees;
  if (!c) return [];
  return [
    ...(c['AHTC-D'] ?? []).map((seat): CommitteeSeat => {
      const [province, district] = seat.split(':') as [string, string];
      const suffix = committeeTopicSuffix('AHTC-D', { province, district });
      return { committee: 'AHTC-D', province, district, principal: suffix, suffix };
    }),
    ...(c['AHTC-P'] ?? []).map((province): CommitteeSeat => {
      const suffix = committeeTopicSuffix('AHTC-P', { province, district: '' });
      return { committee: 'AHTC-P', province, principal: suffix, suffix };
    }),
  ];
}

/** The committees' own notification topics, which the publisher may write (activities: committeeJurisdictionTopics). */
export function committeeTopics(access: KafkaAccessFile, topics: Pick<AccessTopics, 'notifyPrefix'>): string[] {
  return committeeSeats(access).map((s) => `${topics.notifyPrefix}${s.suffix}`);
}

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
    ...committeeSeats(access).map((s) => s.principal),
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
  out.push(...committeeTopics(access, topics));
  out.push(topics.events, topics.deadLetter);
  if (topics.audit !== undefined) out.push(topics.audit);
  return out;
}

/** Every notification topic: one per agency, per partner organisation and per committee seat. */
export function allNotifyTopics(access: KafkaAccessFile, topics: AccessTopics): string[] {
  return [...senders(access).map((s) => senderTopics(topics, s).notify), ...committeeTopics(access, topics)];
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

  // A committee seat reads its jurisdiction's topic alone; only the publisher writes it (no answers go there: seats send nothing on Kafka).
  const seatTopics = committeeTopics(access, topics);
  for (const seat of committeeSeats(access)) {
    topic(seat.principal, `${topics.notifyPrefix}${seat.suffix}`, 'READ');
    group(seat.principal, `${seat.principal}.`, 'PREFIXED');
  }
  for (const t of seatTopics) topic(e.publisher, t, 'WRITE');

  // /metrics: consumer lag (the bridges' groups, their topics' end offsets), and notifications and
  // dead letters counted as they pass (ids, types and agencies only: no topic holds personal data).
  for (const t of [...intakeTopics, ...actionsTopics]) topic(e.monitor, t, 'DESCRIBE');
  for (const g of [groups.intake, groups.actions]) rows.push({ principal: e.monitor, resourceType: 'GROUP', patternType: 'LITERAL', resourceName: g, operation: 'DESCRIBE' });
  for (const t of [...notifyTopics, ...seatTopics, topics.deadLetter]) topic(e.monitor, t, 'READ');
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
