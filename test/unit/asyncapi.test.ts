/**
 * The AsyncAPI document (asyncapi/asyncapi.yaml) is the agencies' contract: it must be what the
 * zod schemas generate, valid AsyncAPI 3 for the official parser, and name every event type the
 * engine reads or writes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiagnosticSeverity, Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { asyncApiFile, buildAsyncApiDocument, renderAsyncApi } from '../../asyncapi/generate.js';
import { actionEventTypes } from '../../schemas/actions.js';
import { intakeEventTypes } from '../../schemas/cloudevents.js';
import { NotificationType } from '../../schemas/notifications.js';
import { repoRoot } from '../support/stack-paths.js';

const committed = readFileSync(asyncApiFile, 'utf8');

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

  it('has a channel per topic, the notification topic parameterised by agency, and the operations of an agency', () => {
    const channels = Object.fromEntries(document!.channels().all().map((c) => [c.id(), c]));
    expect(Object.fromEntries(Object.entries(channels).map(([id, c]) => [id, c.address()]))).toEqual({
      intake: 'referrals.intake',
      actions: 'referrals.actions',
      agencyNotifications: 'referrals.notify.{agency}',
      events: 'referrals.events',
      deadLetter: 'referrals.dead-letter',
    });
    const agency = channels['agencyNotifications']!.parameters().get('agency');
    expect(agency?.schema()?.enum()).toEqual(expect.arrayContaining(['fia', 'nccia', 'ahtc-d', 'partners']));
    expect(agency?.schema()?.enum()).not.toContain('ngo_hotline');
    // Each channel carries the messages of its topic.
    expect(channels['intake']!.messages().all().map((m) => m.name())).toEqual(intakeEventTypes);
    expect(channels['actions']!.messages().all().map((m) => m.name())).toEqual(actionEventTypes);
    expect(channels['agencyNotifications']!.messages().all().map((m) => m.name())).toEqual(NotificationType.options);
    expect(channels['events']!.messages().all().map((m) => m.name())).toEqual(['referral.stage.v1']);

    const operations = Object.fromEntries(document!.operations().all().map((o) => [o.id(), o.action()]));
    expect(operations).toEqual({
      sendReferral: 'send',
      sendAction: 'send',
      receiveNotifications: 'receive',
      receiveOperatorEvents: 'receive',
      receiveDeadLetters: 'receive',
    });
    const reply = document!.operations().get('sendAction')!.reply();
    expect(reply?.messages().all().map((m) => m.name())).toEqual(['referral.action.accepted.v1', 'referral.action.rejected.v1']);
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
    expect(Object.keys(dead.headers()!.properties()!)).toEqual(['dlq-reason', 'dlq-errors', 'dlq-source-topic', 'dlq-source-partition', 'dlq-source-offset', 'dlq-at', 'dlq-sealed']);
    expect(dead.headers()!.properties()!['dlq-reason']!.enum()).toEqual(['INVALID_CLOUDEVENT', 'INVALID_EVENT', 'UNKNOWN_EVENT_TYPE']);
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
