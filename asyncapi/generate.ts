/**
 * Generates the AsyncAPI 3.0 document of the agencies' Kafka contract from the zod schemas the
 * engine validates with, so the document cannot drift from the code:
 *
 *   npm run asyncapi               writes asyncapi/asyncapi.yaml
 *   npm run asyncapi -- --check    exits 1 if asyncapi/asyncapi.yaml differs from what the schemas generate
 *
 * Every event type of the intake and action unions (schemas/cloudevents.ts, schemas/actions.ts)
 * and of the notification types (schemas/notifications.ts) becomes a message: CloudEvents 1.0
 * binary-mode headers, the data's JSON Schema as payload, the referral id as Kafka key. The
 * topics, the principals and what each may do with which topic come from the broker access table
 * (config/kafka-access.json, expanded by config/kafka-access.ts), the table the broker's ACLs are
 * made from: every operation says who may perform it (`x-acl`, rows of aclTable()).
 * test/unit/asyncapi.test.ts checks that the committed file is the generated one and that
 * @asyncapi/parser validates it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { DLQ_HEADERS } from '../bridge/dead-letters.js';
import { loadEngineConfig } from '../config/env.js';
import { aclTable, committeeSeats, loadKafkaAccess, principalOf, senders, senderTopics, type AclRow, type Sender } from '../config/kafka-access.js';
import { Actor, ActionEvent, actionTargets, type ActionEventType } from '../schemas/actions.js';
import { CODEC_AUDIT_TYPE, CodecAuditV1, EXPORT_AUDIT_TYPE, ExportAuditV1 } from '../schemas/audit.js';
import { IntakeEvent } from '../schemas/cloudevents.js';
import { AgencyCode, CaseType, Priority, Province, ReferralId, ReportedCaseType } from '../schemas/common.js';
import {
  ActionAcceptedV1,
  ActionRejectedV1,
  ActionRejectionCode,
  NotificationType,
  ReferralRoutedV1,
  ReferralSlaV1,
  ReferralStageV1,
  ReferralUnroutedV1,
} from '../schemas/notifications.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export const asyncApiFile = fileURLToPath(new URL('./asyncapi.yaml', import.meta.url));
const packageJson = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string };

const BINDING_VERSION = '0.5.0';
/** The CA of the local stack's broker certificate (config/env.ts defaultKafkaCaFile, relative to the repository). */
const LOCAL_CA_FILE = '.stack/kafka-tls/ca.pem';
const JSON_CONTENT_TYPE = 'application/json';

// --- rejection codes: what each code of ActionRejectionCode means (the list follows the zod enum) ---

const rejectionCodeMeaning: Record<string, string> = {
  VALIDATION: 'the event does not match its schema, every field error listed; or a workflow validator found a bad value',
  INVALID_TRANSITION: "not possible at the referral's stage, or on a track that has not started",
  NOT_A_PARTY: 'the acting agency takes no part in the referral',
  FORBIDDEN: 'a party, but not the agency or role for this action',
  UNKNOWN_REFERRAL: 'no referral has this id',
  REFERRAL_CLOSED: 'the referral is closed',
  ACTOR_MISMATCH:
    "the event's actor (an intake's sourceAgency) is not the sender whose topic it came on: another agency or partner organisation, or a role that does not act over Kafka",
};

function rejectionCodes(): string {
  return ActionRejectionCode.options
    .map((code) => {
      const meaning = rejectionCodeMeaning[code];
      if (meaning === undefined) throw new Error(`asyncapi/generate.ts: say what the rejection code ${code} means in rejectionCodeMeaning`);
      return `${code} (${meaning})`;
    })
    .join(', ');
}

/** The code a message naming another agency than its topic's is refused with, once schemas/notifications.ts has it. */
const actorMismatchCode = (ActionRejectionCode.options as readonly string[]).includes('ACTOR_MISMATCH') ? 'ACTOR_MISMATCH' : undefined;

// --- notification types: the data schema of each (a new type in NotificationType must be added here) ---

type NotificationTypeName = z.infer<typeof NotificationType>;
const notificationData: Record<NotificationTypeName, { schema: z.ZodTypeAny; summary: string }> = {
  'referral.routed.v1': {
    schema: ReferralRoutedV1,
    summary: 'The referral was routed by the charge matrix: the recipient is its LEAD, SUPPORTING or INFORMED agency, and is told what it must do.',
  },
  'referral.unrouted.v1': {
    schema: ReferralUnroutedV1,
    summary: 'The charge matrix could not route the referral: the district committee (AHTC-D) must classify it (referral.action.reclassify.v1).',
  },
  'referral.sla.v1': {
    schema: ReferralSlaV1,
    summary: 'A reminder, breach or escalation of one SLA step: to the agency responsible for the step, or to the committee (and ministries) of the escalation rung.',
  },
  'referral.stage.v1': {
    schema: ReferralStageV1,
    summary: 'A lifecycle step happened (acknowledged, screened, case registered, …): to the operators\' stream and to the agency that must act next, with what and by when.',
  },
  'referral.action.accepted.v1': {
    schema: ActionAcceptedV1,
    summary: 'Answer to an action of the receiving agency: it was applied (or had been: a redelivered action is answered again, with the same id). Event id `<action id>/answer`.',
  },
  'referral.action.rejected.v1': {
    schema: ActionRejectedV1,
    summary: `Answer to an action of the receiving agency (or to a referral it sent that was refused for naming another agency): it was not applied, and why: ${rejectionCodes()}. Event id \`<action id>/answer\`.`,
  },
};

const deadLetterReasons: Record<string, string> = {
  INVALID_CLOUDEVENT: 'not a CloudEvent: no body, not JSON, or binary mode without ce_ headers',
  INVALID_EVENT: 'a CloudEvent whose attributes or data do not match the schema of its type',
  UNKNOWN_EVENT_TYPE: 'an action event whose ce_type is not one of the referral.action.*.v1 types',
  ACTOR_MISMATCH: 'a valid event naming another sender than the agency or partner organisation whose topic it came on',
};

// --- JSON Schema from zod ---

/** Schemas that recur across messages: defined once in components.schemas and referenced. */
const shared: Array<[string, z.ZodTypeAny, string]> = [
  ['ReferralId', ReferralId, 'A referral id: chosen by the detecting agency, unique, stable; the Kafka key of every event about the referral.'],
  ['AgencyCode', AgencyCode, 'An agency or body taking part in referrals.'],
  ['CaseType', CaseType, 'The case type, once classified.'],
  ['ReportedCaseType', ReportedCaseType, 'A case type as reported, or UNKNOWN for screening to decide.'],
  ['Province', Province, 'Province of the case (never an exact location).'],
  ['Priority', Priority, 'From the case flags: URGENT for a minor or a victim at risk.'],
  ['Actor', Actor, 'Who acts: an officer of an agency, or a partner organisation (`agency` PARTNER and `organisation` required).'],
];

function toJsonSchema(schema: z.ZodTypeAny): JsonObject {
  const out = zodToJsonSchema(schema, { $refStrategy: 'none', effectStrategy: 'input', pipeStrategy: 'input' }) as JsonObject;
  delete out['$schema'];
  return out;
}

const sharedSchemas: Record<string, JsonObject> = {};
const sharedByShape = new Map<string, string>();
for (const [name, schema, description] of shared) {
  const json = toJsonSchema(schema);
  sharedByShape.set(JSON.stringify(json), name);
  sharedSchemas[name] = { description, ...json };
}
// zod's superRefine is not JSON Schema: say it in JSON Schema.
sharedSchemas['Actor'] = {
  ...sharedSchemas['Actor']!,
  if: { properties: { agency: { const: 'PARTNER' } }, required: ['agency'] },
  then: { required: ['organisation'] },
};

/** Replaces every sub-schema equal to a shared one by a reference to it. */
function useShared(node: Json): Json {
  if (Array.isArray(node)) return node.map(useShared);
  if (node === null || typeof node !== 'object') return node;
  const name = sharedByShape.get(JSON.stringify(node));
  if (name) return { $ref: `#/components/schemas/${name}` };
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, useShared(v)]));
}

function payloadOf(schema: z.ZodTypeAny): Json {
  const json = toJsonSchema(schema);
  // The payload itself is never replaced, only what is inside it.
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, useShared(v)]));
}

// --- topics and who may use them (the defaults of config/env.ts, the table of config/kafka-access.json) ---

const engineConfig = loadEngineConfig({});
const topics = engineConfig.kafka.topics;
const access = loadKafkaAccess();
/**
 * The document names no consumer group of the engine's own (only the prefixes the groups of an
 * agency, a partner organisation or an operator must start with), so the re-drive group, which
 * config/env.ts does not hold, is left empty.
 */
const acl = aclTable(access, topics, { intake: engineConfig.kafka.intakeGroup, actions: engineConfig.kafka.actionsGroup, redrive: '' });
const agencySenders = senders(access).filter((s) => s.kind === 'agency');
const partnerSenders = senders(access).filter((s) => s.kind === 'partner');

/**
 * One topic per agency (and per partner organisation) of the same contract, so one channel each
 * with the agency as a parameter rather than one channel per agency: an agency's integrator reads
 * one description of what to send and what comes back, finds its own code in the parameter's enum,
 * and the operations, their replies and their access rows are written once instead of fifteen
 * times over (the enum is checked against config/kafka-access.ts, topic by topic).
 */
interface TopicFamily {
  /** The channel address: a topic name, or a template with one `{parameter}`. */
  address: string;
  parameter?: string;
  /**
   * Every topic the address stands for, with the value of the parameter and who owns the topic: a
   * sender, or a committee seat (`ownerPrincipal`, named as the value).
   */
  instances: Array<{ topic: string; value?: string; owner?: Sender; ownerPrincipal?: string }>;
}

/** The family of the topics senderTopics() gives these senders for one purpose; fails if one does not fit the template. */
function family(parameter: string, template: string, of: Sender[], topicOf: (s: Sender) => string | undefined): TopicFamily {
  const [before, after, ...more] = template.split(`{${parameter}}`);
  if (before === undefined || after === undefined || more.length > 0) throw new Error(`${template}: expected one {${parameter}}`);
  const instances = of.map((owner) => {
    const topic = topicOf(owner);
    if (topic === undefined || !topic.startsWith(before) || !topic.endsWith(after) || topic.length <= before.length + after.length) {
      throw new Error(`config/kafka-access.ts gives ${principalOf(owner)} the topic ${String(topic)}, which is not ${template}: change the channels of asyncapi/generate.ts`);
    }
    return { topic, value: topic.slice(before.length, topic.length - after.length), owner };
  });
  return { address: template, parameter, instances };
}

const families = {
  agencyIntake: family('agency', `${topics.intake}.{agency}`, agencySenders, (s) => senderTopics(topics, s).intake),
  agencyActions: family('agency', `${topics.actions}.{agency}`, agencySenders, (s) => senderTopics(topics, s).actions),
  agencyNotifications: family('agency', `${topics.notifyPrefix}{agency}`, agencySenders, (s) => senderTopics(topics, s).notify),
  partnerActions: family('organisation', `${topics.actions}.partner.{organisation}`, partnerSenders, (s) => senderTopics(topics, s).actions),
  partnerNotifications: family('organisation', `${topics.notifyPrefix}partner.{organisation}`, partnerSenders, (s) => senderTopics(topics, s).notify),
  committeeNotifications: {
    address: `${topics.notifyPrefix}{committeeSeat}`,
    parameter: 'committeeSeat',
    instances: committeeSeats(access).map((seat) => ({ topic: `${topics.notifyPrefix}${seat.suffix}`, value: seat.suffix, ownerPrincipal: seat.principal })),
  },
  events: { address: topics.events, instances: [{ topic: topics.events }] },
  deadLetter: { address: topics.deadLetter, instances: [{ topic: topics.deadLetter }] },
  audit: { address: topics.audit, instances: [{ topic: topics.audit }] },
} satisfies Record<string, TopicFamily>;
type ChannelId = keyof typeof families;

/** Who a principal is, in words (the principals of config/kafka-access.json besides agencies and partners). */
function principalRole(principal: string): string {
  const engine = (Object.entries(access.engine) as Array<[keyof typeof access.engine, string]>).find(([, name]) => name === principal)?.[0];
  const engineRoles: Record<keyof typeof access.engine, string> = {
    intake: "the engine's intake bridge",
    actions: "the engine's actions bridge",
    publisher: "the engine's notification publisher",
    monitor: "the engine's monitor, for /metrics",
    redrive: '`referrals redrive`, putting a dead letter back on the topic it came from',
    audit: "the engine's codec server and API, recording every decode and every export",
  };
  if (engine) return engineRoles[engine];
  if (access.operators.includes(principal)) return 'an operator';
  if (principal === access.admin) return "the broker's administrator";
  throw new Error(`no words for the principal ${principal}`);
}

type AclEntry = { principal: string; operation: AclRow['operation']; resourceType: AclRow['resourceType']; patternType: AclRow['patternType']; resourceName: string; who: string };

/**
 * The rows of the ACL table that let a principal perform an operation on a channel: WRITE (send)
 * or READ (receive) on its topics and, for a reader, the consumer groups it may use (the prefixed
 * ones of agencies, partners and operators). On a parameterised channel the owner's rows are
 * written once with the parameter (`User:{agency}` WRITE `referrals.intake.{agency}`); the other
 * principals' rows must then hold for every topic of the channel.
 */
function aclOf(channel: ChannelId, action: 'send' | 'receive'): AclEntry[] {
  const { address, instances, parameter } = families[channel] as TopicFamily;
  const operation = action === 'send' ? 'WRITE' : 'READ';
  const entries = new Map<string, { entry: AclEntry; topics: Set<string> }>();
  const add = (entry: AclEntry, topic: string) => {
    const key = JSON.stringify([entry.principal, entry.resourceType, entry.patternType, entry.resourceName, entry.operation]);
    const seen = entries.get(key) ?? { entry, topics: new Set<string>() };
    seen.topics.add(topic);
    entries.set(key, seen);
  };
  for (const instance of instances) {
    const { topic, value, owner } = instance;
    const ownerPrincipal = owner ? principalOf(owner) : instance.ownerPrincipal;
    for (const row of acl.filter((r) => r.resourceType === 'TOPIC' && r.resourceName === topic && r.operation === operation)) {
      const owned = row.principal === ownerPrincipal && parameter !== undefined && value !== undefined;
      // The owner's principal and group prefix with the parameter in place of its value: fia → {agency},
      // partner-iom → partner-{organisation}, ahtc-d.punjab.lahore → {committeeSeat}.
      const generic = (name: string) => (owned ? name.replace(row.principal, row.principal.replace(value, `{${parameter}}`)) : name);
      const principal = `User:${generic(row.principal)}`;
      const ownWords = !owner ? 'the committee itself, on its own topic only' : owner.kind === 'agency' ? 'the agency itself, on its own topic only' : 'the partner organisation itself, on its own topic only';
      const who = owned ? ownWords : principalRole(row.principal);
      add({ principal, operation, resourceType: 'TOPIC', patternType: 'LITERAL', resourceName: address, who }, topic);
      if (action !== 'receive') continue;
      for (const group of acl.filter((r) => r.principal === row.principal && r.resourceType === 'GROUP' && r.patternType === 'PREFIXED')) {
        add({ principal, operation: group.operation, resourceType: 'GROUP', patternType: 'PREFIXED', resourceName: generic(group.resourceName), who: `its consumer groups: their names start with \`${generic(group.resourceName)}\`` }, topic);
      }
    }
  }
  for (const { entry, topics: on } of entries.values()) {
    if (on.size !== instances.length) throw new Error(`${entry.principal} may ${operation} only some of the topics of ${address}: the channel cannot say it once`);
  }
  if (entries.size === 0) throw new Error(`no principal may ${operation} ${address}`);
  return [...entries.values()].map(({ entry }) => entry);
}

/** The operation's access rows in words, for its description. */
function accessText(entries: AclEntry[]): string {
  const topicRows = entries.filter((e) => e.resourceType === 'TOPIC');
  const groupRows = entries.filter((e) => e.resourceType === 'GROUP');
  const lines = topicRows.map((e) => {
    const groups = groupRows.filter((g) => g.principal === e.principal).map((g) => `; consumer groups \`${g.resourceName}*\``);
    return `* \`${e.principal}\` (${e.who}): ${e.operation} \`${e.resourceName}\`${groups.join('')}`;
  });
  return ['**Who may (broker ACL, `x-acl`):**', ...lines].join('\n');
}

// --- messages ---

const messageBindingRef = { $ref: '#/components/messageBindings/referralKey' };

function headers(type: string, direction: 'in' | 'out'): Json {
  return {
    allOf: [
      { $ref: `#/components/schemas/${direction === 'in' ? 'CloudEventHeadersIn' : 'CloudEventHeadersOut'}` },
      { type: 'object', properties: { ce_type: { type: 'string', const: type } } },
    ],
  };
}

function titleOf(type: string): string {
  const words = type
    .replace(/^referral\./, '')
    .replace(/\.v\d+$/, '')
    .split(/[.-]/)
    .join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function message(type: string, direction: 'in' | 'out', summary: string, payload: Json, extra: JsonObject = {}): JsonObject {
  return {
    name: type,
    title: titleOf(type),
    summary,
    contentType: JSON_CONTENT_TYPE,
    headers: headers(type, direction),
    payload,
    bindings: messageBindingRef,
    ...extra,
  };
}

const intakeMessages: Record<string, JsonObject> = Object.fromEntries(
  IntakeEvent.options.map((option) => {
    const type = option.shape.type.value;
    return [
      type,
      message(
        type,
        'in',
        'A detecting agency opens a referral. The workflow `referral-<referralId>` is started once: a copy (same or other event id) starts nothing new. `persons` is personal data: it is kept encrypted in the engine and never appears on any other topic.',
        payloadOf(option.shape.data),
      ),
    ];
  }),
);

function actionSummary(type: ActionEventType): string {
  const target = actionTargets[type];
  const workflow = target.trackFromData
    ? 'the workflow named by `data.track` (`referral` by default: `referral-<id>`, `justice`: `referral-<id>-justice`, `protection`: `referral-<id>-protection`)'
    : target.track === 'referral'
      ? '`referral-<id>`'
      : `\`referral-<id>-${target.track}\``;
  return `Becomes the Temporal update \`${target.update}\` of ${workflow}. Answered on the acting agency's notification topic with referral.action.accepted.v1 or referral.action.rejected.v1.`;
}

const actionMessages: Record<string, JsonObject> = Object.fromEntries(
  ActionEvent.options.map((option) => {
    const type = option.shape.type.value as ActionEventType;
    return [type, message(type, 'in', actionSummary(type), payloadOf(option.shape.data))];
  }),
);

const notificationMessages: Record<string, JsonObject> = Object.fromEntries(
  NotificationType.options.map((type) => {
    const { schema, summary } = notificationData[type];
    const extra: JsonObject = type.startsWith('referral.action.') ? { correlationId: { $ref: '#/components/correlationIds/actionId' } } : {};
    // An invalid action that named no usable referral id is answered keyed by its own id.
    if (type === 'referral.action.rejected.v1') extra['bindings'] = { $ref: '#/components/messageBindings/answerKey' };
    return [type, message(type, 'out', summary, payloadOf(schema), extra)];
  }),
);

const operatorMessages: Record<string, JsonObject> = {
  'referral.stage.v1': notificationMessages['referral.stage.v1']!,
};

/** A record of the audit topic: `ce_subject` and the Kafka key are the principal id. */
function auditMessage(type: string, summary: string, schema: Parameters<typeof payloadOf>[0]): JsonObject {
  return {
    ...message(type, 'out', summary, payloadOf(schema)),
    headers: {
      allOf: [
        { $ref: '#/components/schemas/CloudEventHeadersOut' },
        { type: 'object', properties: { ce_type: { type: 'string', const: type }, ce_subject: { type: 'string', maxLength: 200, description: 'The principal id (the Kafka key): one caller\'s records stay in order.' } } },
      ],
    },
    bindings: { kafka: { key: { type: 'string', description: 'The principal id, `anonymous` for a caller without (valid) credentials.' }, bindingVersion: BINDING_VERSION } },
  };
}

const auditMessages: Record<string, JsonObject> = {
  [CODEC_AUDIT_TYPE]: auditMessage(
    CODEC_AUDIT_TYPE,
    'One decode request of the codec server (the Temporal Web UI and the `temporal` CLI read payloads in clear through it): who asked (an API identity, or `anonymous`), with what credential, when, which referrals the payloads belong to, how many were decoded or refused and why (per workflow), and the HTTP status answered. Never a payload, a credential or a session id. Written before anything decoded is answered: a decode whose record cannot be written is answered 503. `ce_id` is unique per request; `ce_subject` and the Kafka key are the principal id.',
    CodecAuditV1,
  ),
  [EXPORT_AUDIT_TYPE]: auditMessage(
    EXPORT_AUDIT_TYPE,
    'One HTCDS export of the API (`GET /exports/htcds`, `referrals export`), by an operator or an admin: who, when, the filters (months of detection, lead agency), the format, k (`EXPORT_MIN_CELL`), how many referrals were read, how many rows were exported and how many cases were withheld as cells under k. Never a row. Written before the export is answered: an export whose record cannot be written is answered 503 and exports nothing. `ce_id` is unique per export; `ce_subject` and the Kafka key are the principal id.',
    ExportAuditV1,
  ),
};

const deadLetterHeaderDescriptions: Record<keyof typeof DLQ_HEADERS, string> = {
  reason: `Why the message was dead-lettered: ${Object.entries(deadLetterReasons)
    .map(([reason, why]) => `${reason} (${why})`)
    .join('; ')}.`,
  errors:
    'A JSON array of strings, every error named by field: `data.facts.location.province: Invalid enum value. Expected …`. The values the message held are left out (not the part zod quotes as received, not the text a JSON error quotes).',
  topic: 'The topic the message was read from.',
  partition: 'Its partition (decimal).',
  offset: 'Its offset (decimal).',
  at: 'When it was dead-lettered (ISO 8601).',
  sealed:
    'The id of the payload key (PAYLOAD_KEYS) the value and the sender\'s headers are sealed with: AES-256-GCM, `iv (12 bytes) || ciphertext || tag (16 bytes)`, AAD `referral-engine/dead-letter/v1` (the value) and `referral-engine/dead-letter-headers/v1` (the headers). Absent on a message without a value or headers (and on dead letters written before sealing, kept as sent).',
  sealedKdf:
    'How the sealing key was derived from that payload key: `hkdf-sha256/v1` (a subkey per purpose). Absent on dead letters sealed with the key itself (older ones: still re-drivable).',
  sealedHeaders:
    'The sender\'s own headers (ce_type, ce_source, …), sealed, in base64: `referrals redrive` restores them byte for byte. Only `ce_id` and the `dlq-` headers stay in clear (the answer on the sender\'s topic carries the same id).',
};

const deadLetterMessage: JsonObject = {
  name: 'dead-letter',
  title: 'Dead letter',
  summary:
    'A message of the intake or actions topic the engine could not accept, with its original key, its original value (byte for byte) and its original headers sealed with the payload key named in `dlq-sealed`, plus `dlq-` headers saying why and where it came from. Once fixed, it can be re-driven to its source topic (`referrals redrive` unseals it).',
  contentType: 'application/octet-stream',
  headers: {
    type: 'object',
    description: 'The original `ce_id` (when there was one), and these:',
    // The sealing headers are absent on a message with nothing to seal.
    required: Object.values(DLQ_HEADERS).filter((h) => h !== DLQ_HEADERS.sealed && h !== DLQ_HEADERS.sealedKdf && h !== DLQ_HEADERS.sealedHeaders),
    properties: Object.fromEntries(
      (Object.keys(DLQ_HEADERS) as Array<keyof typeof DLQ_HEADERS>).map((key): [string, Json] => [
        DLQ_HEADERS[key],
        key === 'reason'
          ? { type: 'string', enum: Object.keys(deadLetterReasons), description: deadLetterHeaderDescriptions[key] }
          : { type: 'string', description: deadLetterHeaderDescriptions[key] },
      ]),
    ),
  },
  payload: {
    description:
      'The original value, byte for byte (it may not be JSON at all), sealed with the payload key named in `dlq-sealed`: an intake message holds personal data (persons), readable only by `referrals redrive` and operators with the key.',
  },
  bindings: { kafka: { key: { type: 'string', description: 'The original key (the referral id, when the sender set it).' }, bindingVersion: BINDING_VERSION } },
};

// --- the document ---

function refs(channel: string, messages: Record<string, unknown>): Json[] {
  return Object.keys(messages).map((name) => ({ $ref: `#/channels/${channel}/messages/${name}` }));
}

function channelMessages(messages: Record<string, unknown>): JsonObject {
  return Object.fromEntries(Object.keys(messages).map((name) => [name, { $ref: `#/components/messages/${name}` }]));
}

function topicBinding(family: TopicFamily): Json {
  // A parameterised channel stands for several topics: the binding names none of them.
  return { kafka: { ...(family.parameter ? {} : { topic: family.address }), partitions: 3, bindingVersion: BINDING_VERSION } };
}

/** components.parameters: one per parameter name, its enum the values of every channel using it (which must agree). */
function channelParameters(): JsonObject {
  const descriptions: Record<string, string> = {
    agency:
      'The agency code in lower case (`FIA` → `fia`, `AHTC-D` → `ahtc-d`, `NGO_HOTLINE` → `ngo_hotline`). The agency connects as the principal `User:<agency>`, which may write only its own intake and actions topics and read only its own notification topic.',
    committeeSeat:
      'A district or provincial committee with a seat in config/kafka-access.json `committees`: `ahtc-d.<province>.<district>` or `ahtc-p.<province>` in lower case (district codes of schemas/jurisdiction.ts). The committee connects as the principal of the same name (`User:ahtc-d.punjab.lahore`), which may read only its own topic; no district\'s committee reads another\'s, and a committee acts through the HTTP API, where its jurisdiction is part of its identity.',
    organisation: `The partner organisation's code in lower case (\`IOM\` → \`iom\`; the organisations of config/kafka-access.json \`partners\`). It connects as the principal \`User:partner-<organisation>\`, which may write only its own actions topic and read only its own notification topic.`,
  };
  const values = new Map<string, string[]>();
  for (const [id, f] of Object.entries(families) as Array<[ChannelId, TopicFamily]>) {
    if (!f.parameter) continue;
    const these = f.instances.map((i) => i.value!);
    const before = values.get(f.parameter);
    if (before && JSON.stringify(before) !== JSON.stringify(these)) throw new Error(`the channel ${id} has other {${f.parameter}} values than another channel: give it a parameter of its own`);
    values.set(f.parameter, these);
  }
  return Object.fromEntries(
    [...values].map(([name, list]) => {
      const description = descriptions[name];
      if (description === undefined) throw new Error(`no description for the channel parameter ${name}`);
      return [name, { description, enum: list, examples: [list[0]!] }];
    }),
  );
}

function channel(id: ChannelId, title: string, description: string, messages: Record<string, unknown>): JsonObject {
  const f: TopicFamily = families[id];
  return {
    address: f.address,
    title,
    description,
    ...(f.parameter ? { parameters: { [f.parameter]: { $ref: `#/components/parameters/${f.parameter}` } } } : {}),
    messages: channelMessages(messages),
    bindings: topicBinding(f),
  };
}

/** An operation of an agency's (or operator's) application, with who may perform it. */
function operation(action: 'send' | 'receive', id: ChannelId, messages: Record<string, unknown>, fields: { title: string; summary?: string; description?: string; reply?: JsonObject }): JsonObject {
  const entries = aclOf(id, action);
  return {
    action,
    channel: { $ref: `#/channels/${id}` },
    title: fields.title,
    ...(fields.summary ? { summary: fields.summary } : {}),
    description: [...(fields.description ? [fields.description, ''] : []), accessText(entries)].join('\n'),
    messages: refs(id, messages),
    ...(fields.reply ? { reply: fields.reply } : {}),
    'x-acl': entries as unknown as Json,
  };
}

function answers(id: ChannelId, names: NotificationTypeName[] = ['referral.action.accepted.v1', 'referral.action.rejected.v1']): JsonObject {
  return {
    channel: { $ref: `#/channels/${id}` },
    messages: names.map((name) => ({ $ref: `#/channels/${id}/messages/${name}` })),
  };
}

const ceHeaderProperties: JsonObject = {
  ce_specversion: { type: 'string', const: '1.0', description: 'CloudEvents spec version.' },
  ce_id: { type: 'string', minLength: 1, maxLength: 200, description: 'Event id, unique per source. Consumers drop a redelivered event by (ce_source, ce_id).' },
  ce_source: { type: 'string', minLength: 1, maxLength: 500, description: 'Who sent the event, e.g. `urn:agency:fia:airport-desk`.' },
  ce_type: { type: 'string', description: 'The versioned event type; the message name.' },
  ce_subject: { type: 'string', maxLength: 200, description: 'The referral id (the Kafka key).' },
  ce_time: { type: 'string', format: 'date-time', description: 'When the event happened (ISO 8601 with offset).' },
  'content-type': { type: 'string', const: JSON_CONTENT_TYPE, description: 'The data is JSON, in the record value.' },
};

export function buildAsyncApiDocument(): JsonObject {
  const f = families;
  const refused = `refused${actorMismatchCode ? ` with the rejection code \`${actorMismatchCode}\`` : ''}, dead-lettered and answered on the notification topic of the topic's own agency (or organisation)`;
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'referral-engine: agency integration over Kafka',
      version: packageJson.version,
      description: [
        'How agencies exchange referrals of human-trafficking, migrant-smuggling and fraudulent-job-advertisement cases with referral-engine.',
        '',
        '* **Envelope:** CloudEvents 1.0, Kafka protocol binding. The engine writes binary mode: `ce_` headers, the event data as JSON in the record value.',
        '  It reads binary mode and structured mode (`content-type: application/cloudevents+json`, the whole event as JSON in the value).',
        '* **Key:** the referral id, so every event of one referral stays in order on one partition.',
        '* **Ids:** the engine\'s event ids are derived from the workflow and step, never from a retry: drop an event whose id you have seen.',
        '  Your ids must be unique per `ce_source`: a redelivered action (same source and id) is applied once.',
        '* **Need to know:** notifications carry ids, case type, stage, province and district, deadlines and what the recipient must do;',
        '  never a person\'s name, contact, exact location or health.',
        `* **Topics** (defaults; the engine's \`KAFKA_TOPIC_*\` variables rename them): an agency sends to \`${f.agencyIntake.address}\` and \`${f.agencyActions.address}\``,
        `  and reads \`${f.agencyNotifications.address}\`; a partner organisation sends to \`${f.partnerActions.address}\` and reads \`${f.partnerNotifications.address}\`.`,
        `  Invalid messages go to \`${topics.deadLetter}\`; every lifecycle step goes to \`${topics.events}\`, for operators, and every decode of the codec server to \`${topics.audit}\`, for operators alone.`,
        '* **Access:** every agency and partner organisation connects as a principal of its own (`User:fia`, `User:partner-iom`), over TLS with SCRAM-SHA-512',
        '  or a client certificate, and the broker\'s ACLs let it write and read its own topics alone (each operation\'s `x-acl` lists its rows).',
        `* **Who acts:** the agency of the topic, not the one the event names: an event whose \`data.actor.agency\` (or an intake's \`sourceAgency\`) is another is ${refused}.`,
        '  Actors with the role OPERATOR or ADMIN never act over Kafka: they act across agencies, through the HTTP API.',
        `* **Shared topics:** only a deployment whose integrations all trust each other sets \`KAFKA_SHARED_TOPICS=true\`; the engine then also reads \`${topics.intake}\` and \`${topics.actions}\``,
        '  and takes the acting agency from the event. They are not part of this contract.',
        '',
        'Generated from the zod schemas in `schemas/` and the broker access table (`config/kafka-access.json`) by `npm run asyncapi`: do not edit by hand. See README.md, "Agency integration over Kafka".',
      ].join('\n'),
    },
    defaultContentType: JSON_CONTENT_TYPE,
    servers: {
      local: {
        host: engineConfig.kafka.brokers[0]!,
        protocol: 'kafka-secure',
        description: `The local stack (\`npm start\`, \`npm run stack -- up\`): TLS, the broker's certificate signed by the stack's own CA (\`${LOCAL_CA_FILE}\`); every client authenticates as its principal, with SCRAM-SHA-512 or a client certificate.`,
        security: [{ $ref: '#/components/securitySchemes/scramSha512' }, { $ref: '#/components/securitySchemes/mutualTls' }],
      },
      compose: {
        host: '127.0.0.1:9094',
        protocol: 'kafka',
        description: 'Docker Compose (`docker compose up`): the host listener, plaintext, without authentication or ACLs: for trying the engine on one machine, not for agencies.',
      },
    },
    channels: {
      agencyIntake: channel(
        'agencyIntake',
        'Intake of one agency',
        `New referrals, one topic per detecting agency: written by that agency alone (and by \`referrals redrive\`, putting its dead letters back), read by the engine (consumer group \`${engineConfig.kafka.intakeGroup}\`). \`data.sourceAgency\` must be the topic's agency; a referral naming another is ${refused}.`,
        intakeMessages,
      ),
      agencyActions: channel(
        'agencyActions',
        'Actions of one agency',
        `An agency acts on referrals on its own topic: each event becomes a Temporal update of the referral (or of its justice or protection track), answered on \`${f.agencyNotifications.address}\` of the same agency. \`data.actor\` is one of its officers or supervisors: \`agency\` the topic's agency, \`role\` OFFICER or SUPERVISOR; an action naming another agency or role is ${refused}. Written by the agency alone (and by \`referrals redrive\`), read by the engine (consumer group \`${engineConfig.kafka.actionsGroup}\`).`,
        actionMessages,
      ),
      agencyNotifications: channel(
        'agencyNotifications',
        'Notifications of one agency',
        'One topic per agency, read by that agency alone: routed and unrouted referrals, SLA reminders, breaches and escalations, lifecycle steps the agency must act on, and the answers to its actions.',
        notificationMessages,
      ),
      partnerActions: channel(
        'partnerActions',
        'Actions of one partner organisation',
        `A partner organisation (${access.partners.join(', ')}) acts on the referrals it takes part in on its own topic, with the same events as an agency, answered on \`${f.partnerNotifications.address}\` of the same organisation. \`data.actor\` is \`agency: PARTNER\`, \`role: PARTNER\` and \`organisation\` the topic's organisation (\`${access.partners[0]}\` on \`${f.partnerActions.instances[0]!.topic}\`); an action naming another is ${refused}.`,
        actionMessages,
      ),
      partnerNotifications: channel(
        'partnerNotifications',
        'Notifications of one partner organisation',
        'One topic per partner organisation, read by that organisation alone: the notifications addressed to it and the answers to its actions.',
        notificationMessages,
      ),
      committeeNotifications: channel(
        'committeeNotifications',
        "Notifications of one district's or province's committee",
        "One topic per committee seat, read by that committee alone: the referrals of its own jurisdiction that were not routed, their SLA escalations and the lifecycle steps it must act on. The shared `ahtc-d` and `ahtc-p` topics carry none of these: every district's committee would read them.",
        notificationMessages,
      ),
      events: channel('events', 'Operators\' event stream', 'Every lifecycle step of every referral, for operators and dashboards; no personal data.', operatorMessages),
      deadLetter: {
        ...channel(
          'deadLetter',
          'Dead letters',
          `Messages of the intake and actions topics that could not be accepted, kept with their original bytes sealed with the payload key (\`dlq-sealed\` names it): an invalid intake message may hold personal data, which only \`referrals redrive\` and operators with the key can read. Read by operators, \`referrals redrive\` and the engine's /metrics alone. An invalid action is also answered (referral.action.rejected.v1, code VALIDATION) on the notification topic of its topic's agency or organisation, and so is an event naming another sender than its topic's${actorMismatchCode ? ` (${actorMismatchCode})` : ''}; an invalid intake message is not answered.`,
          {},
        ),
        messages: { 'dead-letter': { $ref: '#/components/messages/dead-letter' } },
      },
      audit: channel(
        'audit',
        'Audit: decodes and exports',
        "Who read which referral's payloads in clear through the codec server (one record per decode request, refused ones included), and who exported referrals to HTCDS (one record per export). Written by the engine's audit principal alone, read by operators alone (nobody else may even describe it).",
        auditMessages,
      ),
    },
    operations: {
      sendReferral: operation('send', 'agencyIntake', intakeMessages, {
        title: 'Send a referral',
        summary: 'A detecting agency opens a referral, on its own intake topic.',
        description: `The engine commits the message only after Temporal accepted the start; a copy starts nothing new. A valid referral is not answered: the routed referral is notified to its lead, supporting and informed agencies. A referral whose \`sourceAgency\` is not the topic's agency is answered with referral.action.rejected.v1${actorMismatchCode ? ` (code ${actorMismatchCode})` : ''}, \`actionId\` its \`ce_id\`, on the agency's notification topic (the same \`{agency}\`).`,
        reply: answers('agencyNotifications', ['referral.action.rejected.v1']),
      }),
      sendAction: operation('send', 'agencyActions', actionMessages, {
        title: 'Act on a referral',
        summary: 'An agency acknowledges, screens, registers a case, reports, decides, … on a referral it is a party to, on its own actions topic.',
        description:
          'Use a new `ce_id` for every new action: the Temporal update id is (`ce_source`, `ce_id`), so a redelivered action is applied once and answered again with the first outcome. The answer goes to the notification topic of the topic\'s agency (the same `{agency}`).',
        reply: answers('agencyNotifications'),
      }),
      sendPartnerAction: operation('send', 'partnerActions', actionMessages, {
        title: 'Act on a referral (partner organisation)',
        summary: 'A partner organisation records a placement, a reintegration plan, a task done, a follow-up, … on its own actions topic.',
        description: 'As for an agency: a new `ce_id` for every new action. The answer goes to the notification topic of the topic\'s organisation (the same `{organisation}`).',
        reply: answers('partnerNotifications'),
      }),
      receiveNotifications: operation('receive', 'agencyNotifications', notificationMessages, {
        title: 'Receive notifications',
        summary: 'An agency reads its own topic.',
        description: 'Delivery is at least once: drop an event whose `ce_id` was already processed.',
      }),
      receivePartnerNotifications: operation('receive', 'partnerNotifications', notificationMessages, {
        title: 'Receive notifications (partner organisation)',
        summary: 'A partner organisation reads its own topic.',
        description: 'Delivery is at least once: drop an event whose `ce_id` was already processed.',
      }),
      receiveCommitteeNotifications: operation('receive', 'committeeNotifications', notificationMessages, {
        title: "Receive notifications (a district's or province's committee)",
        summary: 'A committee with a seat reads its jurisdiction\'s own topic.',
        description: 'Delivery is at least once: drop an event whose `ce_id` was already processed.',
      }),
      receiveOperatorEvents: operation('receive', 'events', operatorMessages, { title: 'Follow every referral (operators)' }),
      receiveCodecAudit: operation('receive', 'audit', auditMessages, { title: 'Review who decoded and who exported what (operators)' }),
      receiveDeadLetters: {
        ...operation('receive', 'deadLetter', {}, { title: 'Review dead letters (operators)' }),
        messages: [{ $ref: '#/channels/deadLetter/messages/dead-letter' }],
      },
    },
    components: {
      schemas: {
        CloudEventHeadersIn: {
          type: 'object',
          description: 'CloudEvents binary mode as the engine reads it (structured mode is accepted too: `content-type: application/cloudevents+json` and the whole event in the value).',
          required: ['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'content-type'],
          properties: ceHeaderProperties,
        },
        CloudEventHeadersOut: {
          type: 'object',
          description: 'CloudEvents binary mode as the engine writes it: every header below is always present.',
          required: Object.keys(ceHeaderProperties),
          properties: ceHeaderProperties,
        },
        ...sharedSchemas,
      },
      messages: { ...intakeMessages, ...actionMessages, ...notificationMessages, ...auditMessages, 'dead-letter': deadLetterMessage },
      parameters: channelParameters(),
      securitySchemes: {
        scramSha512: {
          type: 'scramSha512',
          description: [
            'SASL_SSL with SCRAM-SHA-512. The username is the principal: the agency code in lower case (`fia`, `ahtc-d`) or `partner-<organisation>` (`partner-iom`); the password comes from the broker\'s operators.',
            `TLS verifies the broker's certificate against the deployment's CA (the local stack's: \`${LOCAL_CA_FILE}\`).`,
            `kcat: \`-X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=nccia -X sasl.password=… -X ssl.ca.location=${LOCAL_CA_FILE}\`.`,
          ].join(' '),
        },
        mutualTls: {
          type: 'X509',
          description: [
            'SSL with a client certificate (mutual TLS): the subject CN of the certificate is the principal (`CN=nccia` is `User:nccia`, `CN=partner-iom` is `User:partner-iom`), signed by a CA the broker trusts.',
            `kcat: \`-X security.protocol=SSL -X ssl.certificate.location=nccia.pem -X ssl.key.location=nccia.key -X ssl.ca.location=${LOCAL_CA_FILE}\`.`,
          ].join(' '),
        },
      },
      correlationIds: {
        actionId: { description: 'The `ce_id` of the action this event answers.', location: '$message.payload#/actionId' },
      },
      messageBindings: {
        referralKey: {
          kafka: {
            key: { $ref: '#/components/schemas/ReferralId' },
            bindingVersion: BINDING_VERSION,
          },
        },
        answerKey: {
          kafka: {
            key: { type: 'string', description: 'The referral id; the action id when the rejected action carried no usable referral id.' },
            bindingVersion: BINDING_VERSION,
          },
        },
      },
    },
  };
}

const HEADER = '# Generated by `npm run asyncapi` (asyncapi/generate.ts) from the zod schemas in schemas/: do not edit by hand.\n';

export function renderAsyncApi(): string {
  return HEADER + stringify(buildAsyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
}

function main(args: string[]): void {
  const generated = renderAsyncApi();
  // --file=<path>: another file than asyncapi/asyncapi.yaml (the tests check a changed copy).
  const file = args.find((a) => a.startsWith('--file='))?.slice('--file='.length) ?? asyncApiFile;
  if (args.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(file, 'utf8');
    } catch {
      /* missing: differs */
    }
    if (committed !== generated) {
      console.error(`${file} is not what the schemas generate: run \`npm run asyncapi\` and commit the result.`);
      process.exit(1);
    }
    console.log(`${file} is up to date.`);
    return;
  }
  writeFileSync(file, generated);
  console.log(`wrote ${file}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
