/**
 * The HTCDS export against the real stack: referrals submitted and screened through the API on the
 * Temporal dev server, their payloads encrypted (the export decrypts their start input through
 * the client's data converter), exported as CSV and JSON and checked against IOM's own field
 * definitions (../shared/htcds, parsed here); every export audited once, on the real audit topic,
 * written as the engine's audit principal and read back as an operator.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeyRing } from '../../codec/aes-gcm-codec.js';
import { createCodecAudit, readAuditEvent } from '../../codec/audit.js';
import { loadEngineConfig } from '../../config/env.js';
import { loadKafkaAccess } from '../../config/kafka-access.js';
import type { ApiApp } from '../../api/server.js';
import { HTCDS_COLUMNS } from '../../exports/htcds.js';
import { createKafka, createPublisher, type Publisher } from '../../messaging/kafka.js';
import { EXPORT_AUDIT_TYPE, type ExportAuditV1 } from '../../schemas/audit.js';
import { createLogger } from '../../workers/logger.js';
import { detected, uniqueId } from '../support/fixtures.js';
import { listenOnLoopback, startTestApi, startTestEngine, testIdentities, unusedTopics, type TestEngine } from '../support/engine-harness.js';
import { cliEntry, runNode } from '../support/cli-process.js';
import { conformanceProblems, loadHtcdsDefinitions, parseCsv } from '../support/htcds-definitions.js';
import { eventually } from '../support/kafka-harness.js';
import { engineSecurity, kafkajsAuth } from '../support/test-kafka.js';
import { readTopics } from '../support/topic-reader.js';

const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const run = uniqueId('htcds');
const taskQueue = `${run}-queue`;
const keyRing = new KeyRing('it-1', { 'it-1': randomBytes(32) });
const access = loadKafkaAccess();
const auditTopic = loadEngineConfig({}).kafka.topics.audit;
const definitions = loadHtcdsDefinitions();
const K = 3;

const { identities, auth, keyOf } = testIdentities(
  [
    { id: 'fia-officer', agency: 'FIA', role: 'officer' },
    { id: 'fia-supervisor', agency: 'FIA', role: 'supervisor' },
    { id: 'ahtc-n-supervisor', agency: 'AHTC-N', role: 'supervisor' },
    { id: 'operator', agency: 'MOI', role: 'operator' },
    { id: 'admin', agency: 'MOI', role: 'admin' },
    { id: 'iom', agency: 'PARTNER', role: 'partner', organisation: 'IOM' },
  ],
  `${run}-key-`,
);

// A detection month of this run alone (the stack keeps referrals of earlier runs), and the next one.
const year = 1901 + Math.floor(Math.random() * 98);
const month = `${year}-0${1 + Math.floor(Math.random() * 8)}`;
const nextMonth = `${year}-${String(Number(month.slice(5)) + 1).padStart(2, '0')}`;

describe('HTCDS export (GET /exports/htcds) on the real Temporal dev server and broker', () => {
  let engine: TestEngine;
  let app: ApiApp;
  let auditPublisher: Publisher;
  const logLines: string[] = [];
  const started = new Date();
  /** Exports answered 200: each must leave exactly one audit record. */
  const exportsMade: Array<{ principal: string; rows: number; suppressed: number }> = [];
  const secrets: string[] = [];

  beforeAll(async () => {
    engine = await startTestEngine({ temporalAddress, taskQueue, topics: unusedTopics, keyRing, source: 'urn:test:htcds' });
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
    // The audit principal of the ACL table: it alone may write the audit topic.
    auditPublisher = createPublisher(createKafka({ brokers: [brokers], clientId: `${run}-audit`, logger: createLogger({ level: 'warn' }), security: engineSecurity(access.engine.audit) }));
    await auditPublisher.connect();
    const audit = createCodecAudit({ publisher: auditPublisher, topic: auditTopic, source: 'urn:test:htcds/codec', exportSource: 'urn:test:htcds/api' });
    app = await startTestApi({ client: engine.client, taskQueue, auth: { identities }, logger, exports: { minCell: K, audit } });
  });

  afterAll(async () => {
    await app?.close();
    await auditPublisher?.disconnect();
    await engine?.stop();
  });

  async function submit(options: { indicators: string[]; detectedIn: string; screen?: boolean }): Promise<string> {
    const name = `Victim ${uniqueId('name')}`;
    const contact = `+92-3${Math.floor(Math.random() * 1e9)}`;
    secrets.push(name, contact);
    const referral = detected({
      detectedAt: `${options.detectedIn}-15T10:00:00.000Z`,
      persons: [{ role: 'VICTIM', name, age: 17, gender: 'female', nationality: 'PK', contact, location: 'Street 5, Lahore' }],
      facts: { indicators: options.indicators },
    });
    const res = await app.inject({ method: 'POST', url: '/referrals', headers: auth('fia-officer'), payload: referral });
    expect(res.statusCode, res.body).toBe(201);
    const stage = () => app.inject({ method: 'GET', url: `/referrals/${referral.referralId}`, headers: auth('operator') }).then((r) => r.json().referral?.stage);
    await eventually(stage, (s) => s === 'SCREENING');
    if (options.screen) {
      const screened = await app.inject({
        method: 'POST',
        url: `/referrals/${referral.referralId}/actions/complete-screening`,
        headers: auth('fia-officer'),
        payload: { outcome: 'CONFIRMED', victimIdentified: true, victimAtRisk: false, consent: 'GIVEN' },
      });
      expect(screened.statusCode, screened.body).toBe(200);
    }
    return referral.referralId;
  }

  async function exportAs(who: string, query: string, headers: Record<string, string> = {}) {
    const res = await app.inject({ method: 'GET', url: `/exports/htcds${query}`, headers: { ...auth(who), ...headers } });
    if (res.statusCode === 200) exportsMade.push({ principal: who, rows: Number(res.headers['x-export-rows']), suppressed: Number(res.headers['x-export-suppressed']) });
    return res;
  }

  // Each export reads every referral of the stack; one whose worker is gone (an earlier file's) takes up to its 10 s deadline.
  it('exports HTCDS field names and values only, no name or contact, and withholds a cell under k', { timeout: 300_000 }, async () => {
    // Cell A: K screened trafficking victims, debt bondage and documents withheld. Cell B: one case alone.
    const ids = [
      ...(await Promise.all(Array.from({ length: K }, () => submit({ indicators: ['debt bondage', 'passport withheld by employer', 'inconsistent travel story'], detectedIn: month, screen: true })))),
      await submit({ indicators: ['drugged', 'locked in'], detectedIn: month }),
      // Outside the months asked for: never read into the rows.
      await submit({ indicators: ['debt bondage'], detectedIn: nextMonth }),
    ];
    // Visibility trails the workflows: wait until every referral is listed.
    await eventually(
      async () => ((await app.inject({ method: 'GET', url: '/referrals?limit=1000&leadAgency=FIA', headers: auth('operator') })).json().referrals as Array<{ referralId: string }>).map((r) => r.referralId),
      (listed: string[]) => ids.every((id) => listed.includes(id)),
      30_000,
      'the referrals listed',
    );

    const csv = await exportAs('operator', `?from=${month}&to=${month}&agency=FIA`, { accept: 'text/csv' });
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const { header, rows } = parseCsv(csv.body);
    expect(header).toEqual([...HTCDS_COLUMNS]);
    // Every column an HTCDS field name, every value one of its values: IOM's file decides, not ours.
    expect(conformanceProblems(definitions, header, rows)).toEqual([]);
    expect(rows).toHaveLength(K);
    for (const row of rows) {
      expect(row).toMatchObject({ TraffickingStatus: 'Actual victim of trafficking', MethodsOfControlDebtBondage: 'true', MethodsOfControlWithholdsDocuments: 'true', MethodsOfControlPsychoactiveSubstances: 'false' });
    }
    expect([csv.headers['x-export-cases'], csv.headers['x-export-suppressed'], csv.headers['x-export-min-cell']]).toEqual(['4', '1', String(K)]);

    // JSON, by Accept, for an admin: the same rows, and what was withheld.
    const json = await exportAs('admin', `?from=${month}&to=${month}&agency=FIA`, { accept: 'application/json' });
    expect(json.statusCode, json.body).toBe(200);
    const body = json.json();
    expect(body).toMatchObject({ standard: 'HTCDS 2.0', cases: 4, suppressed: 1, suppressedCells: 1, minCell: K, filters: { from: month, to: month, agency: 'FIA' } });
    expect(body.rows).toEqual(rows);
    expect(conformanceProblems(definitions, body.columns, body.rows)).toEqual([]);

    // ?format= wins over Accept; the next month alone holds one case, under k.
    const next = await exportAs('operator', `?from=${nextMonth}&to=${nextMonth}&format=csv`, { accept: 'application/json' });
    expect(next.headers['content-type']).toMatch(/^text\/csv/);
    expect(parseCsv(next.body).rows).toEqual([]);
    expect(next.headers['x-export-suppressed']).toBe('1');

    // No person's name, contact or place anywhere in what was exported, nor any referral id.
    for (const text of [csv.body, json.body, next.body]) {
      for (const secret of [...secrets, 'Street 5', ...ids]) expect(text).not.toContain(secret);
    }
  });

  it('is for operators and admins only: agencies, committees and partners get 403, no credentials 401', async () => {
    for (const who of ['fia-officer', 'fia-supervisor', 'ahtc-n-supervisor', 'iom']) {
      const res = await exportAs(who, `?from=${month}&to=${month}`);
      expect(res.statusCode, who).toBe(403);
      expect(res.json().error.code).toBe('FORBIDDEN');
    }
    expect((await app.inject({ method: 'GET', url: '/exports/htcds' })).statusCode).toBe(401);
    expect(logLines.filter((l) => l.includes('access denied') && l.includes('/exports/htcds')).length).toBeGreaterThanOrEqual(4);
  });

  it('names the field at fault', async () => {
    const bad = await exportAs('operator', '?from=2026-13&agency=NASA');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.problems.map((p: { field: string }) => p.field).sort()).toEqual(['querystring.agency', 'querystring.from']);
    const reversed = await exportAs('operator', '?from=2026-06&to=2026-01');
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json().error.field).toBe('querystring.to');
    const xml = await exportAs('operator', `?from=${month}`, { accept: 'application/xml' });
    expect(xml.statusCode).toBe(406);
    expect(xml.json().error.field).toBe('accept');
  });

  it('leaves exactly one audit record per export, in the log and on the audit topic (read as an operator), never a row', async () => {
    expect(exportsMade.length).toBe(3);
    const logged = logLines.filter((l) => l.includes('"component":"export-audit"')).map((l) => JSON.parse(l) as ExportAuditV1 & { eventId: string });
    expect(logged.map((l) => l.principal.id)).toEqual(exportsMade.map((e) => e.principal));
    const operator = access.operators[0]!;
    const records = await eventually(
      async () =>
        (await readTopics(brokers, [auditTopic], 60_000, kafkajsAuth(operator), `${operator}.htcds-test-`))
          .filter((r) => r.headers['ce_type'] === EXPORT_AUDIT_TYPE)
          .map((r) => ({ key: r.key, event: readAuditEvent(r), raw: String(r.value) }))
          .filter((r) => Date.parse(r.event.time ?? '') >= started.getTime() && r.event.source === 'urn:test:htcds/api' && logged.some((l) => l.eventId === r.event.id)),
      (found) => found.length >= exportsMade.length,
      30_000,
      'the export audit records',
    );
    expect(records).toHaveLength(exportsMade.length);
    expect(new Set(records.map((r) => r.event.id)).size).toBe(records.length);
    const byId = new Map(logged.map((l) => [l.eventId, l]));
    for (const { key, event, raw } of records) {
      if (event.type !== EXPORT_AUDIT_TYPE) throw new Error('not an export record');
      expect(key).toBe(event.subject);
      expect(event.data).toMatchObject({ export: 'htcds', status: 200, minCell: K, principal: { id: byId.get(event.id)!.principal.id } });
      expect([event.data.rows, event.data.suppressed]).toEqual([byId.get(event.id)!.rows, byId.get(event.id)!.suppressed]);
      for (const secret of secrets) expect(raw).not.toContain(secret);
      expect(raw).not.toContain('MethodsOfControl');
    }
    expect(records.map((r) => r.event.data.principal.id).sort()).toEqual(exportsMade.map((e) => e.principal).sort());
  });

  // Each export reads every referral of the stack; one whose worker is gone (an earlier file's) takes up to its 10 s deadline.
  it('referrals export: the CLI writes the export (stdout or --file), says what it does on stderr, and names what is wrong', { timeout: 300_000 }, async () => {
    const baseUrl = await listenOnLoopback(app);
    const cli = (who: string, args: string[]) =>
      runNode([...cliEntry, 'export', ...args], { env: { ...process.env, LOG_LEVEL: '', REFERRALS_API_URL: baseUrl, REFERRALS_API_KEY: keyOf(who) } });
    const csv = await cli('operator', ['--format', 'htcds', '--from', month, '--to', month, '--agency', 'fia']);
    expect(csv.code, csv.stderr).toBe(0);
    const { header, rows } = parseCsv(csv.stdout.replace(/\r?\n/g, '\r\n'));
    expect(header).toEqual([...HTCDS_COLUMNS]);
    expect(rows).toHaveLength(K);
    expect(csv.stderr).toContain(`referrals export: reading referrals (from ${month}, to ${month}, led by FIA) ...`);
    expect(csv.stderr).toMatch(new RegExp(`referrals export: ${K} rows of 4 referrals in [\\d.]+ s; 1 withheld \\(cells under k=${K}\\)`));
    for (const secret of secrets) expect(csv.stdout + csv.stderr).not.toContain(secret);

    const file = `${mkdtempSync(`${tmpdir()}/htcds-`)}/export.json`;
    const json = await cli('admin', ['--format', 'htcds', '--from', month, '--to', month, '--output', 'json', '--file', file]);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toBe('');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ standard: 'HTCDS 2.0', suppressed: 1, rows });
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const refused = await cli('fia-supervisor', ['--format', 'htcds']);
    expect([refused.code, refused.stdout]).toEqual([1, '']);
    expect(refused.stderr).toContain('referrals export: FORBIDDEN: role supervisor may not export: operators and admins only');
    const bad = await cli('operator', ['--format', 'htcds', '--from', '2026-6']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('referrals export: --from: expected a month YYYY-MM (e.g. 2026-11), got "2026-6"');
  });

  it('exports nothing when its audit record cannot be written (503)', async () => {
    const logger = createLogger({ level: 'silent' });
    const failing = await startTestApi({
      client: engine.client,
      taskQueue,
      auth: { identities },
      logger,
      exports: { minCell: K, audit: { writeExport: () => Promise.reject(new Error('broker unavailable')) } },
    });
    try {
      const res = await failing.inject({ method: 'GET', url: `/exports/htcds?from=${month}&to=${month}`, headers: auth('operator') });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('AUDIT_UNAVAILABLE');
      expect(res.body).not.toContain('TraffickingStatus');
    } finally {
      await failing.close();
    }
  });
});
