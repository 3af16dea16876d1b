/**
 * The AsyncAPI document (asyncapi/asyncapi.yaml) is the agencies' contract: it must be what the
 * zod schemas generate, valid AsyncAPI 3 for the official parser, and name every event type the
 * engine reads or writes.
 */
import { DLQ_HEADERS } from '../../bridge/dead-letters.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiagnosticSeverity, Parser, type AsyncAPIDocumentInterface, type ChannelInterface } from '@asyncapi/parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { asyncApiFile, buildAsyncApiDocument, renderAsyncApi } from '../../asyncapi/generate.js';
import { loadEngineConfig } from '../../config/env.js';
import { aclTable, allTopics, brokerAgencies, loadKafkaAccess, principalOf, senders, senderTopics } from '../../config/kafka-access.js';
import { actionEventTypes } from '../../schemas/actions.js';
import { CODEC_AUDIT_TYPE, EXPORT_AUDIT_TYPE } from '../../schemas/audit.js';
import { intakeEventTypes } from '../../schemas/cloudevents.js';
import { ActionRejectionCode, NotificationType } from '../../schemas/notifications.js';
import { repoRoot } from '../support/stack-paths.js';

const committed = readFileSync(asyncApiFile, 'utf8');
const config = loadEngineConfig({});
const topics = config.kafka.topics;
const access = loadKafkaAccess();

/** Every topic a channel's address stands for: each parameter replaced by each value of its enum. */
function topicsOf(channel: ChannelInterface): string[] {
  let addresses = [channel.address() ?? ''];
  for (const parameter of channel.parameters().all()) {
    const values = parameter.schema()?.enum() as string[] | undefined;
    expect(values, `${channel.id()}: {${parameter.id()}} lists its values`).toBeDefined();
    addresses = addresses.flatMap((address) => values!.map((value) => address.replaceAll(`{${parameter.id()}}`, value)));
  }
  expect(addresses.filter((a) => a === '' || /[{}]/.test(a)), channel.id()).toEqual([]);
  return addresses;
}

describe('asyncapi/asyncapi.yaml', () => {
  let document: AsyncAPIDocumentInterface | undefined;
  let diagnostics: Awaited<ReturnType<Parser['parse']>>['diagnostics'];

  beforeAll(async () => {
    ({ document, diagnostics } = await new Parser().parse(committed));
  });

  it('is exactly what the zod schemas generate (run `npm run asyncapi` after changing schemas/)', () => {
    expect(committed).toBe(renderAsyncApi());
  });

  it('`npm run asyncapi -- --check` exits 0 when the file is up to date and 1 when it differs', () => {
    const check = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'asyncapi/generate.ts', '--check', ...args], { cwd: repoRoot, encoding: 'utf8' });
    const upToDate = check();
    expect(upToDate.stderr).toBe('');
    expect(upToDate.status).toBe(0);

    const changed = join(mkdtempSync(join(tmpdir(), 'asyncapi-')), 'asyncapi.yaml');
    writeFileSync(changed, committed.replace('referral.action.verdict.v1', 'referral.action.verdict.v2'));
    const stale = check(`--file=${changed}`);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/is not what the schemas generate: run `npm run asyncapi`/);
  });

  it('is valid AsyncAPI 3.0 for @asyncapi/parser: no errors and no warnings', () => {
    const problems = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning);
    expect(problems.map((d) => `${d.path.join('/')}: ${d.message}`)).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.version()).toBe('3.0.0');
  });

  it('names every intake, action and notification event type as a message, with a payload schema', () => {
    const byName = new Map(document!.allMessages().all().map((m) => [m.name(), m]));
    const expected = [...intakeEventTypes, ...actionEventTypes, ...NotificationType.options];
    expect(expected.length).toBe(1 + 18 + 6);
    for (const type of expected) {
      const message = byName.get(type);
      expect(message, type).toBeDefined();
      expect(message!.hasPayload(), type).toBe(true);
      expect(message!.payload()!.type(), type).toBe('object');
    }
  });

  it('has a channel per kind of topic, the per-sender ones parameterised by agency or partner organisation', () => {
    const channels = Object.fromEntries(document!.channels().all().map((c) => [c.id(), c]));
    expect(Object.fromEntries(Object.entries(channels).map(([id, c]) => [id, c.address()]))).toEqual({
      agencyIntake: 'referrals.intake.{agency}',
      agencyActions: 'referrals.actions.{agency}',
      agencyNotifications: 'referrals.notify.{agency}',
      partnerActions: 'referrals.actions.partner.{organisation}',
      partnerNotifications: 'referrals.notify.partner.{organisation}',
      committeeNotifications: 'referrals.notify.{committeeSeat}',
      events: 'referrals.events',
      deadLetter: 'referrals.dead-letter',
      audit: 'referrals.audit',
    });
    // Each channel carries the messages of its topic.
    const names = (id: string) => channels[id]!.messages().all().map((m) => m.name());
    expect(names('agencyIntake')).toEqual(intakeEventTypes);
    expect(names('agencyActions')).toEqual(actionEventTypes);
    expect(names('partnerActions')).toEqual(actionEventTypes);
    expect(names('agencyNotifications')).toEqual(NotificationType.options);
    expect(names('partnerNotifications')).toEqual(NotificationType.options);
    expect(names('committeeNotifications')).toEqual(NotificationType.options);
    expect(names('events')).toEqual(['referral.stage.v1']);
    expect(names('deadLetter')).toEqual(['dead-letter']);
    expect(names('audit')).toEqual([CODEC_AUDIT_TYPE, EXPORT_AUDIT_TYPE]);

    const operations = Object.fromEntries(document!.operations().all().map((o) => [o.id(), [o.action(), o.channels().all().map((c) => c.id())]]));
    expect(operations).toEqual({
      sendReferral: ['send', ['agencyIntake']],
      sendAction: ['send', ['agencyActions']],
      sendPartnerAction: ['send', ['partnerActions']],
      receiveNotifications: ['receive', ['agencyNotifications']],
      receivePartnerNotifications: ['receive', ['partnerNotifications']],
      receiveCommitteeNotifications: ['receive', ['committeeNotifications']],
      receiveOperatorEvents: ['receive', ['events']],
      receiveDeadLetters: ['receive', ['deadLetter']],
      receiveCodecAudit: ['receive', ['audit']],
    });
    const reply = (id: string) => document!.operations().get(id)!.reply();
    expect(reply('sendAction')?.channel()?.id()).toBe('agencyNotifications');
    expect(reply('sendAction')?.messages().all().map((m) => m.name())).toEqual(['referral.action.accepted.v1', 'referral.action.rejected.v1']);
    expect(reply('sendPartnerAction')?.channel()?.id()).toBe('partnerNotifications');
    expect(reply('sendPartnerAction')?.messages().all().map((m) => m.name())).toEqual(['referral.action.accepted.v1', 'referral.action.rejected.v1']);
    // An intake is answered only when refused.
    expect(reply('sendReferral')?.channel()?.id()).toBe('agencyNotifications');
    expect(reply('sendReferral')?.messages().all().map((m) => m.name())).toEqual(['referral.action.rejected.v1']);
  });

  it('the channels stand for exactly the topics of config/kafka-access.ts: no shared partners topic, no shared intake or actions topic', () => {
    const addresses = document!.channels().all().flatMap(topicsOf);
    expect(new Set(addresses).size).toBe(addresses.length);
    expect([...addresses].sort()).toEqual([...allTopics(access, topics)].sort());
    for (const gone of ['referrals.notify.partners', 'referrals.intake', 'referrals.actions']) expect(addresses).not.toContain(gone);
    expect(document!.channels().all().map((c) => c.address())).not.toContain('referrals.notify.partners');

    const parameter = (channel: string, name: string) => document!.channels().get(channel)!.parameters().get(name)?.schema()?.enum();
    expect(parameter('agencyIntake', 'agency')).toEqual(brokerAgencies.map((a) => a.toLowerCase()));
    expect(parameter('agencyIntake', 'agency')).toEqual(expect.arrayContaining(['fia', 'nccia', 'ahtc-d', 'ngo_hotline', 'embassy']));
    expect(parameter('agencyIntake', 'agency')).not.toContain('partner');
    expect(parameter('partnerActions', 'organisation')).toEqual(access.partners.map((o) => o.toLowerCase()));
    expect(parameter('partnerNotifications', 'organisation')).toEqual(expect.arrayContaining(['iom']));
  });

  it("every agency and partner organisation finds its own topics in its operations, and the answers on its own notification topic", () => {
    const ops = (action: 'send' | 'receive') => document!.operations().all().filter((o) => o.action() === action);
    const channelOf = (id: string) => document!.operations().get(id)!.channels().all()[0]!;
    for (const sender of senders(access)) {
      const own = senderTopics(topics, sender);
      const name = principalOf(sender);
      if (sender.kind === 'agency') {
        expect(own.intake, name).toBeDefined();
        expect(topicsOf(channelOf('sendReferral')), name).toContain(own.intake);
      }
      expect(ops('send').flatMap((o) => o.channels().all().flatMap(topicsOf)), name).toContain(own.actions);
      expect(ops('receive').flatMap((o) => o.channels().all().flatMap(topicsOf)), name).toContain(own.notify);

      // The reply channel, with the same parameter value as the actions channel, is the sender's own notification topic.
      const [sendId, value] = sender.kind === 'agency' ? ['sendAction', sender.agency.toLowerCase()] : ['sendPartnerAction', sender.organisation.toLowerCase()];
      const send = document!.operations().get(sendId)!;
      const parameterName = send.channels().all()[0]!.parameters().all()[0]!.id();
      const at = (address: string | null | undefined) => address?.replaceAll(`{${parameterName}}`, value);
      expect(at(send.channels().all()[0]!.address()), name).toBe(own.actions);
      expect(at(send.reply()!.channel()!.address()), name).toBe(own.notify);
    }
  });

  it('the local server requires TLS with SCRAM-SHA-512 or a client certificate (X.509)', () => {
    const raw = parse(committed) as { servers: Record<string, { security?: Array<{ $ref: string }> }>; components: { securitySchemes: Record<string, { type: string; description: string }> } };
    expect(raw.components.securitySchemes['scramSha512']?.type).toBe('scramSha512');
    expect(raw.components.securitySchemes['mutualTls']?.type).toBe('X509');
    expect(raw.components.securitySchemes['scramSha512']?.description).toContain('.stack/kafka-tls/ca.pem');
    expect(raw.components.securitySchemes['mutualTls']?.description).toMatch(/CN=nccia/);
    expect(raw.servers['local']?.security).toEqual([{ $ref: '#/components/securitySchemes/scramSha512' }, { $ref: '#/components/securitySchemes/mutualTls' }]);

    const local = document!.servers().get('local')!;
    expect(local.protocol()).toBe('kafka-secure');
    // Alternatives: either scheme alone authorises a connection.
    expect(local.security().map((requirement) => requirement.all().map((r) => r.scheme().type()))).toEqual([['scramSha512'], ['X509']]);
    for (const server of document!.servers().all()) {
      if (server.protocol() === 'kafka-secure') expect(server.security().length, server.id()).toBe(2);
    }
  });

  it("each operation names the principals that may perform it, and they are the ACL table's", () => {
    const rows = aclTable(access, topics, { intake: config.kafka.intakeGroup, actions: config.kafka.actionsGroup, redrive: '' });
    const ownerPrincipals = { agencyIntake: 'User:{agency}', agencyActions: 'User:{agency}', agencyNotifications: 'User:{agency}', partnerActions: 'User:partner-{organisation}', partnerNotifications: 'User:partner-{organisation}', committeeNotifications: 'User:{committeeSeat}' };
    for (const operation of document!.operations().all()) {
      const entries = operation.extensions().get('x-acl')?.value() as Array<{ principal: string; operation: string; resourceType: string; patternType: string; resourceName: string; who: string }> | undefined;
      expect(entries, operation.id()).toBeDefined();
      expect(entries!.length, operation.id()).toBeGreaterThan(0);
      for (const entry of entries!) {
        expect(entry.principal, operation.id()).toMatch(/^User:/);
        expect(operation.description(), operation.id()).toContain(`\`${entry.principal}\``);
        expect(entry.who, operation.id()).not.toBe('');
      }
      const channel = operation.channels().all()[0]!;
      const owner = ownerPrincipals[channel.id() as keyof typeof ownerPrincipals];
      if (owner) expect(entries!.filter((e) => e.resourceType === 'TOPIC').map((e) => e.principal), operation.id()).toContain(owner);

      // Spelt out over the channel's parameter values, the entries are the table's rows for the channel's topics.
      const verb = operation.action() === 'send' ? 'WRITE' : 'READ';
      const key = (r: { principal: string; operation: string; resourceType: string; patternType: string; resourceName: string }) => `${r.principal} ${r.operation} ${r.resourceType} ${r.patternType} ${r.resourceName}`;
      const parameters = channel.parameters().all();
      const values = parameters.length === 0 ? [undefined] : (parameters[0]!.schema()!.enum() as string[]);
      const documented = new Set(
        values.flatMap((value) => entries!.map((e) => key({ ...e, principal: e.principal.replace(/^User:/, '') }).replaceAll(`{${parameters[0]?.id()}}`, value ?? ''))),
      );
      const channelTopics = topicsOf(channel);
      const topicRows = rows.filter((r) => r.resourceType === 'TOPIC' && r.operation === verb && channelTopics.includes(r.resourceName));
      const readers = new Set(topicRows.map((r) => r.principal));
      const groupRows = verb === 'READ' ? rows.filter((r) => r.resourceType === 'GROUP' && r.patternType === 'PREFIXED' && readers.has(r.principal)) : [];
      expect([...documented].sort(), operation.id()).toEqual([...new Set([...topicRows, ...groupRows].map(key))].sort());
    }
    // An agency writes and reads its own topics, and no other agency's.
    const sendReferral = document!.operations().get('sendReferral')!.extensions().get('x-acl')!.value() as Array<{ principal: string; resourceName: string; who: string }>;
    expect(sendReferral).toContainEqual(expect.objectContaining({ principal: 'User:{agency}', resourceName: 'referrals.intake.{agency}', who: 'the agency itself, on its own topic only' }));
    expect(document!.operations().get('sendAction')!.description()).toMatch(/`User:\{agency\}` \(the agency itself, on its own topic only\): WRITE `referrals\.actions\.\{agency\}`/);
    expect(document!.operations().get('receivePartnerNotifications')!.description()).toMatch(/`User:partner-\{organisation\}` .*READ `referrals\.notify\.partner\.\{organisation\}`; consumer groups `partner-\{organisation\}\.\*`/);
    // The codec server's audit records: operators alone read them.
    const auditReaders = (document!.operations().get('receiveCodecAudit')!.extensions().get('x-acl')!.value() as Array<{ principal: string; resourceType: string }>).filter((e) => e.resourceType === 'TOPIC').map((e) => e.principal);
    expect(auditReaders).toEqual(access.operators.map((o) => `User:${o}`));
  });

  it('documents every rejection code of the zod schema, and the acting agency being the topic\'s', () => {
    const rejected = document!.allMessages().all().find((m) => m.name() === 'referral.action.rejected.v1')!;
    const code = rejected.payload()!.properties()!['reason']!.properties()!['code']!;
    expect(code.enum()).toEqual(ActionRejectionCode.options);
    for (const c of ActionRejectionCode.options) expect(rejected.summary(), c).toContain(`${c} (`);
    const mismatch = (ActionRejectionCode.options as readonly string[]).includes('ACTOR_MISMATCH');
    for (const id of ['agencyIntake', 'agencyActions', 'partnerActions']) {
      const description = document!.channels().get(id)!.description()!;
      expect(description, id).toMatch(/refused/);
      if (mismatch) expect(description, id).toContain('`ACTOR_MISMATCH`');
    }
    expect(document!.info().description()).toMatch(/OPERATOR or ADMIN never act over Kafka/);
    expect(document!.info().description()).toMatch(/KAFKA_SHARED_TOPICS=true/);
  });

  it('describes CloudEvents binary-mode headers and the referral id as Kafka key on every event message', () => {
    const raw = parse(committed) as { components: { schemas: Record<string, { required: string[] }> } };
    expect(raw.components.schemas['CloudEventHeadersOut']!.required).toEqual(['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'ce_subject', 'ce_time', 'content-type']);
    expect(raw.components.schemas['CloudEventHeadersIn']!.required).toEqual(['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'content-type']);

    for (const message of document!.allMessages().all()) {
      if (message.name() === 'dead-letter') continue;
      const headers = message.headers()!;
      const [base, own] = headers.allOf()!;
      expect(Object.keys(base!.properties()!), message.name()).toEqual(['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'ce_subject', 'ce_time', 'content-type']);
      expect(own!.properties()!['ce_type']!.const(), message.name()).toBe(message.name());
      const kafka = message.bindings().get('kafka');
      expect(kafka, message.name()).toBeDefined();
      expect((kafka!.value() as { key: { type: string } }).key.type).toBe('string');
    }
  });

  it('the dead-letter message documents every dlq- header', () => {
    const dead = document!.allMessages().all().find((m) => m.name() === 'dead-letter')!;
    // Every header the bridge writes (bridge/dead-letters.ts), the sealing ones included.
    expect(Object.keys(dead.headers()!.properties()!)).toEqual(Object.values(DLQ_HEADERS));
    expect(Object.values(DLQ_HEADERS)).toEqual(expect.arrayContaining(['dlq-reason', 'dlq-sealed', 'dlq-sealed-kdf', 'dlq-sealed-headers']));
    expect(dead.headers()!.properties()!['dlq-reason']!.enum()).toEqual(['INVALID_CLOUDEVENT', 'INVALID_EVENT', 'UNKNOWN_EVENT_TYPE', 'ACTOR_MISMATCH']);
  });

  it('personal data appears only in the intake payload (persons), never in a notification', () => {
    const doc = buildAsyncApiDocument() as { components: { messages: Record<string, { payload: unknown }> } };
    for (const [name, message] of Object.entries(doc.components.messages)) {
      const text = JSON.stringify(message.payload);
      if (name === 'referral.detected.v1') expect(text).toContain('"persons"');
      else expect(text, name).not.toMatch(/"(persons|name|contact|health)"/);
    }
  });
});
