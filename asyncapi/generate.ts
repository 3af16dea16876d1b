/**
 * Generates the AsyncAPI 3.0 document of the agencies' Kafka contract from the zod schemas the
 * engine validates with, so the document cannot drift from the code:
 *
 *   npm run asyncapi               writes asyncapi/asyncapi.yaml
 *   npm run asyncapi -- --check    exits 1 if asyncapi/asyncapi.yaml differs from what the schemas generate
 *
 * Every event type of the intake and action unions (schemas/cloudevents.ts, schemas/actions.ts)
 * and of the notification types (schemas/notifications.ts) becomes a message: CloudEvents 1.0
 * binary-mode headers, the data's JSON Schema as payload, the referral id as Kafka key.
 * test/unit/asyncapi.test.ts checks that the committed file is the generated one and that
 * @asyncapi/parser validates it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { answerTopic } from '../bridge/actions.js';
import { DLQ_HEADERS, type DeadLetterReason } from '../bridge/dead-letters.js';
import { loadEngineConfig } from '../config/env.js';
import { Actor, ActionEvent, actionTargets, type ActionEventType } from '../schemas/actions.js';
import { IntakeEvent } from '../schemas/cloudevents.js';
import { AgencyCode, CaseType, Priority, Province, ReferralId, ReportedCaseType } from '../schemas/common.js';
import {
  ActionAcceptedV1,
  ActionRejectedV1,
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
const JSON_CONTENT_TYPE = 'application/json';

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
    summary:
      'Answer to an action of the receiving agency: it was not applied, and why (VALIDATION with every field error, INVALID_TRANSITION, NOT_A_PARTY, FORBIDDEN, UNKNOWN_REFERRAL, REFERRAL_CLOSED). Event id `<action id>/answer`.',
  },
};

const deadLetterReasons: Record<DeadLetterReason, string> = {
  INVALID_CLOUDEVENT: 'not a CloudEvent: no body, not JSON, or binary mode without ce_ headers',
  INVALID_EVENT: 'a CloudEvent whose attributes or data do not match the schema of its type',
  UNKNOWN_EVENT_TYPE: 'an action event whose ce_type is not one of the referral.action.*.v1 types',
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

// --- topics (the defaults of config/env.ts; every name is configurable) ---

const topics = loadEngineConfig({}).kafka.topics;
const notifyTopicSuffixes = [...new Set(AgencyCode.options.map((agency) => answerTopic(topics, agency).slice(topics.notifyPrefix.length)))].sort();
const sharedTopicAgencies = AgencyCode.options.filter((a) => answerTopic(topics, a) === `${topics.notifyPrefix}partners`);

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
    'The id of the payload key (PAYLOAD_KEYS) the value is sealed with: AES-256-GCM, `iv (12 bytes) || ciphertext || tag (16 bytes)`, AAD `referral-engine/dead-letter/v1`. The engine always seals a value; absent on a message without a value (and on dead letters written before sealing, whose value is as sent).',
};

const deadLetterMessage: JsonObject = {
  name: 'dead-letter',
  title: 'Dead letter',
  summary:
    'A message of the intake or actions topic the engine could not accept, with its original key and headers, its original value (byte for byte) sealed with the payload key named in `dlq-sealed`, plus `dlq-` headers saying why and where it came from. Once fixed, it can be re-driven to its source topic (`referrals redrive` unseals it).',
  contentType: 'application/octet-stream',
  headers: {
    type: 'object',
    description: 'The original headers, unchanged (ce_id, ce_type, … when there were any), and these:',
    // dlq-sealed is absent on a message without a value.
    required: Object.values(DLQ_HEADERS).filter((h) => h !== DLQ_HEADERS.sealed),
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

function topicBinding(topic: string): Json {
  return { kafka: { topic, partitions: 3, bindingVersion: BINDING_VERSION } };
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
  const notifyAddress = `${topics.notifyPrefix}{agency}`;
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
        `* **Topics** (defaults; the engine's \`KAFKA_TOPIC_*\` variables rename them): send to \`${topics.intake}\` and \`${topics.actions}\`;`,
        `  read your own \`${notifyAddress}\`. Invalid messages go to \`${topics.deadLetter}\`.`,
        '',
        'Generated from the zod schemas in `schemas/` by `npm run asyncapi`: do not edit by hand. See README.md, "Agency integration over Kafka".',
      ].join('\n'),
    },
    defaultContentType: JSON_CONTENT_TYPE,
    servers: {
      local: { host: '127.0.0.1:9092', protocol: 'kafka', description: 'The local stack (`npm start`, `npm run stack -- up`).' },
      compose: { host: '127.0.0.1:9094', protocol: 'kafka', description: 'Docker Compose (`docker compose up`): the host listener.' },
    },
    channels: {
      intake: {
        address: topics.intake,
        title: 'Intake',
        description: 'New referrals from detecting agencies. Written by agencies, read by the engine (consumer group `referral-engine-intake`).',
        messages: channelMessages(intakeMessages),
        bindings: topicBinding(topics.intake),
      },
      actions: {
        address: topics.actions,
        title: 'Actions',
        description: 'Agencies act on referrals: each event becomes a Temporal update of the referral (or of its justice or protection track), answered on the acting agency\'s notification topic.',
        messages: channelMessages(actionMessages),
        bindings: topicBinding(topics.actions),
      },
      agencyNotifications: {
        address: notifyAddress,
        title: 'Notifications of one agency',
        description: [
          'One topic per agency, so each agency can be given access to its own topic alone: routed and unrouted referrals, SLA reminders, breaches and escalations, lifecycle steps the agency must act on, and the answers to its actions.',
          `${sharedTopicAgencies.join(', ')} and reintegration partners (IOM, …) share \`${topics.notifyPrefix}partners\` and filter by the \`recipient\` field of the data.`,
        ].join(' '),
        parameters: {
          agency: {
            description: `The agency code in lower case (\`FIA\` → \`fia\`, \`AHTC-D\` → \`ahtc-d\`), or \`partners\` for ${sharedTopicAgencies.join(', ')} and partner organisations.`,
            enum: notifyTopicSuffixes,
          },
        },
        messages: channelMessages(notificationMessages),
      },
      events: {
        address: topics.events,
        title: 'Operators\' event stream',
        description: 'Every lifecycle step of every referral, for operators and dashboards; no personal data.',
        messages: channelMessages(operatorMessages),
        bindings: topicBinding(topics.events),
      },
      deadLetter: {
        address: topics.deadLetter,
        title: 'Dead letters',
        description:
          'Messages of the intake and actions topics that could not be accepted, kept with their original bytes sealed with the payload key (`dlq-sealed` names it): an invalid intake message may hold personal data, which only `referrals redrive` and operators with the key can read. Access is for operators only. An invalid action is also answered (referral.action.rejected.v1, code VALIDATION) when its `data.actor.agency` can be read; an invalid intake message is not answered.',
        messages: { 'dead-letter': { $ref: '#/components/messages/dead-letter' } },
        bindings: topicBinding(topics.deadLetter),
      },
    },
    operations: {
      sendReferral: {
        action: 'send',
        channel: { $ref: '#/channels/intake' },
        title: 'Send a referral',
        summary: 'A detecting agency opens a referral.',
        description: 'The engine commits the message only after Temporal accepted the start; a copy starts nothing new. No answer is sent: the routed referral is notified to its lead, supporting and informed agencies.',
        messages: refs('intake', intakeMessages),
      },
      sendAction: {
        action: 'send',
        channel: { $ref: '#/channels/actions' },
        title: 'Act on a referral',
        summary: 'An agency acknowledges, screens, registers a case, reports, decides, … on a referral it is a party to.',
        description:
          'Use a new `ce_id` for every new action: the Temporal update id is (`ce_source`, `ce_id`), so a redelivered action is applied once and answered again with the first outcome. The answer goes to the acting agency\'s topic (`data.actor.agency`).',
        messages: refs('actions', actionMessages),
        reply: {
          channel: { $ref: '#/channels/agencyNotifications' },
          messages: [
            { $ref: '#/channels/agencyNotifications/messages/referral.action.accepted.v1' },
            { $ref: '#/channels/agencyNotifications/messages/referral.action.rejected.v1' },
          ],
        },
      },
      receiveNotifications: {
        action: 'receive',
        channel: { $ref: '#/channels/agencyNotifications' },
        title: 'Receive notifications',
        summary: 'An agency reads its own topic.',
        description: 'Delivery is at least once: drop an event whose `ce_id` was already processed.',
        messages: refs('agencyNotifications', notificationMessages),
      },
      receiveOperatorEvents: {
        action: 'receive',
        channel: { $ref: '#/channels/events' },
        title: 'Follow every referral (operators)',
        messages: refs('events', operatorMessages),
      },
      receiveDeadLetters: {
        action: 'receive',
        channel: { $ref: '#/channels/deadLetter' },
        title: 'Review dead letters (operators)',
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
      messages: { ...intakeMessages, ...actionMessages, ...notificationMessages, 'dead-letter': deadLetterMessage },
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
