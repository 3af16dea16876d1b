/**
 * The `referrals` CLI without servers: argument parsing, formatting, and — as a child process, the
 * way scripts run it — help texts and the exit codes of usage errors, a missing API key, and an
 * API or broker that cannot be reached.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { actionEventTypes } from '../../schemas/actions.js';
import { actionNames } from '../../cli/actions.js';
import { apiSettings, errorFromResponse } from '../../cli/api.js';
import { describeParseError, parseCommand } from '../../cli/args.js';
import { parseActArgs, parseListArgs, parseShowArgs, parseSubmitArgs } from '../../cli/commands.js';
import { CliError, EXIT, UsageError } from '../../cli/errors.js';
import { mergedTimeline, referralTable } from '../../cli/format.js';
import { commandNames } from '../../cli/help.js';
import { faultFields, originalHeaders, parseRedriveArgs } from '../../cli/redrive.js';
import { runNode, type CliResult } from '../support/cli-process.js';
import { repoRoot } from '../support/stack-paths.js';

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a usage error');
}

describe('argument parsing', () => {
  it('maps list flags to the API query, upper-casing codes', () => {
    expect(parseListArgs(['--stage', 'screening', '--case-type', 'fraudulent_job_ad', '--lead', 'fia', '--province', 'Punjab', '--district', 'Gujrat', '--priority', 'urgent', '--breached', '--open', '--limit', '25', '--json'])).toEqual({
      query: { stage: 'SCREENING', caseType: 'FRAUDULENT_JOB_AD', leadAgency: 'FIA', province: 'PUNJAB', district: 'Gujrat', priority: 'URGENT', breached: 'true', open: 'true', limit: '25' },
      json: true,
    });
    expect(parseListArgs([])).toEqual({ query: { stage: undefined, caseType: undefined, leadAgency: undefined, province: undefined, district: undefined, priority: undefined, breached: undefined, open: undefined, limit: undefined }, json: false });
    expect(parseListArgs(['-h'])).toBe('help');
  });

  it('names the flag at fault', () => {
    expect(usageError(() => parseListArgs(['--limit', '0'])).message).toBe('--limit: expected a whole number from 1 to 1000, got "0"');
    expect(usageError(() => parseListArgs(['--limit', '1001'])).message).toMatch(/^--limit: /);
    expect(usageError(() => parseListArgs(['--limit', '12abc'])).message).toMatch(/^--limit: /);
    expect(usageError(() => parseListArgs(['--province', 'ATLANTIS'])).message).toMatch(/^--province: expected one of PUNJAB, SINDH, /);
    expect(usageError(() => parseListArgs(['--case-type', 'THEFT'])).message).toMatch(/^--case-type: /);
    expect(usageError(() => parseListArgs(['--stage', "x' OR 1=1"])).message).toMatch(/^--stage: /);
    expect(usageError(() => parseListArgs(['--bogus'])).message).toBe('unknown option --bogus');
    expect(usageError(() => parseListArgs(['--limit'])).message).toBe('--limit: a value is required');
    expect(usageError(() => parseListArgs(['--json=yes'])).message).toBe('--json: takes no value');
    expect(usageError(() => parseListArgs(['extra'])).message).toBe('unexpected argument "extra"');
    expect(usageError(() => parseListArgs(['--limit', '--json'])).message).toMatch(/^--limit: a value is required/);
  });

  it('parses submit, show and act, with their missing arguments named', () => {
    expect(parseSubmitArgs(['ref.json'])).toEqual({ file: 'ref.json' });
    expect(usageError(() => parseSubmitArgs([])).message).toBe('missing argument <file.json>');
    expect(usageError(() => parseSubmitArgs(['a.json', 'b.json'])).message).toBe('unexpected argument "b.json"');
    expect(parseShowArgs(['FJA-2026-0001', '--json'])).toEqual({ referralId: 'FJA-2026-0001', json: true });
    expect(usageError(() => parseShowArgs([])).message).toBe('missing argument <referralId>');
    expect(usageError(() => parseShowArgs(['no/such'])).message).toMatch(/^<referralId> "no\/such": /);

    expect(parseActArgs(['FJA-2026-0001', 'acknowledge'])).toEqual({ referralId: 'FJA-2026-0001', action: 'acknowledge', body: {}, json: false });
    expect(parseActArgs(['FJA-2026-0001', 'extend-deadline', '--data', '{"step":"screening","by":{"hours":12},"reason":"x"}', '--idempotency-key', 'k-1'])).toEqual({
      referralId: 'FJA-2026-0001',
      action: 'extend-deadline',
      body: { step: 'screening', by: { hours: 12 }, reason: 'x' },
      idempotencyKey: 'k-1',
      json: false,
    });
    expect(parseActArgs(['FJA-2026-0001', 'complete-task', '--file', '-'], () => '{"taskId":"T1","outcome":"DONE"}')).toMatchObject({ body: { taskId: 'T1', outcome: 'DONE' } });
    expect(usageError(() => parseActArgs(['FJA-2026-0001'])).message).toBe('missing argument <action>');
    expect(usageError(() => parseActArgs(['FJA-2026-0001', 'approve'])).message).toMatch(/^unknown action "approve"; actions: acknowledge, complete-screening, /);
    expect(usageError(() => parseActArgs(['FJA-2026-0001', 'acknowledge', '--data', '{"reason":'])).message).toMatch(/^--data: not valid JSON \(/);
    expect(usageError(() => parseActArgs(['FJA-2026-0001', 'acknowledge', '--data', '[1]'])).message).toMatch(/^--data: expected a JSON object/);
    expect(usageError(() => parseActArgs(['FJA-2026-0001', 'acknowledge', '--data', '{}', '--file', 'x.json'])).message).toMatch(/^--data and --file: /);
    expect(usageError(() => parseActArgs(['FJA-2026-0001', 'acknowledge', '--idempotency-key', 'has space'])).message).toMatch(/^--idempotency-key: /);
  });

  it('parses redrive', () => {
    expect(parseRedriveArgs([])).toEqual({ fromBeginning: false, dryRun: false });
    expect(parseRedriveArgs(['--from-beginning', '--limit', '500', '--dry-run', '--reason', 'INVALID_EVENT'])).toEqual({ fromBeginning: true, dryRun: true, limit: 500, reason: 'INVALID_EVENT' });
    expect(usageError(() => parseRedriveArgs(['--limit', '0'])).message).toBe('--limit: expected a whole number 1 or more, got "0"');
    expect(usageError(() => parseRedriveArgs(['--reason', ' '])).message).toMatch(/^--reason: /);
    expect(usageError(() => parseRedriveArgs(['topic'])).message).toBe('unexpected argument "topic"');
  });

  it('knows every action of schemas/actions.ts by its API name', () => {
    expect(actionNames).toHaveLength(actionEventTypes.length);
    expect(actionNames).toEqual(expect.arrayContaining(['acknowledge', 'extend-deadline', 'complete-task', 'reintegration-plan', 'follow-up']));
  });

  it('renders parseArgs errors it does not know as they are', () => {
    expect(describeParseError(new Error('something else'))).toBe('something else');
    expect(() => parseCommand('x', ['-q'], {})).toThrow(UsageError);
  });
});

describe('API answers and settings', () => {
  const settings = { baseUrl: new URL('http://127.0.0.1:8080/') };

  it('maps statuses to exit codes, with CODE: message, the field and every problem', () => {
    const forbidden = errorFromResponse(403, { error: { code: 'FORBIDDEN', message: 'PTA is not a party to referral R-000001' } }, '', settings);
    expect([forbidden.exitCode, forbidden.message]).toEqual([EXIT.REJECTED, 'FORBIDDEN: PTA is not a party to referral R-000001']);
    const invalid = errorFromResponse(400, { error: { code: 'VALIDATION', message: '2 invalid field(s)', field: 'body.by', problems: [{ field: 'body.by', message: 'Invalid input' }, { field: 'body.reason', message: 'Required' }] } }, '', settings);
    expect([invalid.exitCode, invalid.message, invalid.details]).toEqual([EXIT.REJECTED, 'VALIDATION: 2 invalid field(s) (field: body.by)', ['  - body.by: Invalid input', '  - body.reason: Required']]);
    expect(errorFromResponse(404, { error: { code: 'UNKNOWN_REFERRAL', message: 'no referral X', field: 'referralId' } }, '', settings).exitCode).toBe(EXIT.NOT_FOUND);
    expect(errorFromResponse(409, { error: { code: 'INVALID_TRANSITION', message: 'already acknowledged' } }, '', settings).exitCode).toBe(EXIT.REJECTED);
    const failed = errorFromResponse(502, undefined, 'Bad Gateway', settings);
    expect([failed.exitCode, failed.message]).toEqual([EXIT.UNREACHABLE, 'the API at http://127.0.0.1:8080 failed: HTTP_502: Bad Gateway']);
  });

  it('requires REFERRALS_API_KEY and a valid REFERRALS_API_URL, naming them', () => {
    expect(usageError(() => apiSettings({})).message).toMatch(/^REFERRALS_API_KEY is not set/);
    expect(usageError(() => apiSettings({ REFERRALS_API_KEY: '  ' })).message).toMatch(/^REFERRALS_API_KEY is not set/);
    expect(usageError(() => apiSettings({ REFERRALS_API_KEY: 'k', REFERRALS_API_URL: 'not a url' })).message).toMatch(/^REFERRALS_API_URL: /);
    expect(usageError(() => apiSettings({ REFERRALS_API_KEY: 'k', REFERRALS_API_URL: 'ftp://x' })).message).toMatch(/^REFERRALS_API_URL: /);
    expect(apiSettings({ REFERRALS_API_KEY: 'k' }).baseUrl.href).toBe('http://127.0.0.1:8080/');
    expect(apiSettings({ REFERRALS_API_KEY: 'k', REFERRALS_API_URL: 'https://api.example/v1' }).baseUrl.href).toBe('https://api.example/v1/');
  });
});

describe('formatting', () => {
  it('merges the referral, justice and protection timelines by time', () => {
    const entry = (at: string, action: string, track?: 'referral' | 'justice' | 'protection') => ({ at, action, actor: 'a', agency: 'FIA', ...(track ? { track } : {}) });
    const merged = mergedTimeline({
      referral: { referralId: 'R-000001', stage: 'IN_PROGRESS', policyVersion: 'v', timeline: [entry('2026-11-24T09:00:00Z', 'DETECTED'), entry('2026-11-24T12:00:00Z', 'SCREENED', 'referral')] },
      justice: { referralId: 'R-000001', stage: 'S', lead: 'FIA', caseType: 'TRAFFICKING', statusUpdates: 0, sla: [], timeline: [entry('2026-11-24T12:00:00Z', 'JUSTICE_OPENED', 'justice'), entry('2026-11-25T08:00:00.000Z', 'CASE_REGISTERED', 'justice')] },
      protection: { referralId: 'R-000001', stage: 'S', tasks: [], followUpsDone: [], sla: [], timeline: [entry('2026-11-24T13:30:00Z', 'PLACED')] },
    });
    expect(merged.map((e) => `${e.track}:${e.action}`)).toEqual(['referral:DETECTED', 'referral:SCREENED', 'justice:JUSTICE_OPENED', 'protection:PLACED', 'justice:CASE_REGISTERED']);
  });

  it('prints the referral table with every column', () => {
    const table = referralTable([
      { referralId: 'FJA-2026-0001', status: 'RUNNING', stage: 'SCREENING', caseType: 'FRAUDULENT_JOB_AD', leadAgency: 'NCCIA', district: 'Gujrat', priority: 'HIGH', slaBreached: true, nextDeadline: '2026-11-25T09:00:00.000Z', startedAt: '2026-11-24T09:00:00Z' },
      { referralId: 'TIP-2026-0002', status: 'COMPLETED', startedAt: '2026-11-24T09:00:00Z' },
    ]);
    expect(table.split('\n')).toEqual([
      'ID             STAGE      CASE TYPE          LEAD   DISTRICT  PRIORITY  BREACHED  NEXT DEADLINE',
      'FJA-2026-0001  SCREENING  FRAUDULENT_JOB_AD  NCCIA  Gujrat    HIGH      yes       2026-11-25 09:00Z',
      'TIP-2026-0002  COMPLETED  -                  -      -         -         -         -',
      '2 referral(s)',
    ]);
    expect(referralTable([])).toBe('no referrals match');
  });

  it('re-drives original headers only, and shows only the fields of dead-letter errors', () => {
    expect(originalHeaders({ ce_id: Buffer.from('x-1'), 'content-type': 'application/json', 'dlq-reason': 'INVALID_EVENT', 'DLQ-AT': 'now', multi: [Buffer.from('a'), Buffer.from('b')], none: undefined })).toEqual({
      ce_id: 'x-1',
      'content-type': 'application/json',
      multi: 'a',
    });
    expect(faultFields(JSON.stringify(['data.persons.0.name: expected a string, got "Zainab"', 'no field here']))).toBe('data.persons.0.name,(unspecified)');
    expect(faultFields(undefined)).toBe('-');
    expect(faultFields('not json')).toBe('(unreadable dlq-errors)');
  });

  it('has a distinct exit code for each kind of failure', () => {
    expect(new Set(Object.values(EXIT)).size).toBe(Object.keys(EXIT).length);
    expect(new CliError(EXIT.NOT_FOUND, 'x').exitCode).toBe(4);
  });
});

// --- as a child process ---

const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REFERRALS_') && !name.startsWith('KAFKA_') && name !== 'LOG_LEVEL'));

function cli(args: string[], env: Record<string, string> = {}, options: { entry?: string[]; cwd?: string } = {}): Promise<CliResult> {
  return runNode([...(options.entry ?? ['--import', 'tsx', 'cli/referrals.ts']), ...args], { env: { ...baseEnv, ...env }, ...(options.cwd ? { cwd: options.cwd } : {}) });
}

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const key = { REFERRALS_API_KEY: 'test-key' };
const dir = mkdtempSync(join(tmpdir(), 'referrals-cli-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each test starts a node process that compiles the CLI with tsx: on a loaded machine (CI runs the
// projects side by side) that alone can take tens of seconds.
describe.concurrent('the CLI as a child process', { timeout: 120_000 }, () => {
  it('--help lists the commands and the exit codes', async ({ expect }) => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const command of commandNames) expect(r.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(r.stdout).toContain('Exit codes:');
    expect(r.stdout).toMatch(/^ {2}4 {2}not found/m);
    expect(r.stderr).toBe('');
  });

  for (const command of ['submit', 'list', 'show', 'act', 'redrive']) {
    it(`${command} --help describes it, its options and the exit codes`, async ({ expect }) => {
      const [viaFlag, viaHelp] = await Promise.all([cli([command, '--help']), cli(['help', command])]);
      expect(viaFlag.code).toBe(0);
      expect(viaFlag.stdout).toMatch(new RegExp(`^Usage: referrals ${command}`));
      expect(viaFlag.stdout).toContain('Exit codes:');
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
    });
  }

  it('documents the options each command accepts', async ({ expect }) => {
    const [list, act, redrive] = await Promise.all([cli(['list', '-h']), cli(['act', '-h']), cli(['redrive', '-h'])]);
    for (const flag of ['--stage', '--case-type', '--lead', '--province', '--district', '--priority', '--breached', '--open', '--limit', '--json']) expect(list.stdout).toContain(flag);
    for (const flag of ['--data', '--file', '--idempotency-key', 'extend-deadline', 'complete-task']) expect(act.stdout).toContain(flag);
    for (const flag of ['--from-beginning', '--limit', '--dry-run', '--reason', 'KAFKA_TOPIC_DEAD_LETTER', 'dlq-source-topic']) expect(redrive.stdout).toContain(flag);
    expect(redrive.stdout).toMatch(/still invalid\s+simply comes back to the dead-letter topic/);
  });

  it('exits 2 with the list of commands for no or an unknown command', async ({ expect }) => {
    const [none, unknown, flag] = await Promise.all([cli([]), cli(['frobnicate']), cli(['--json'])]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Commands:');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('referrals: unknown command "frobnicate"; commands: submit, list, show, act, export, redrive (referrals --help)\n');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('unknown option --json');
  });

  it('exits 2 naming the bad flag or the missing argument', async ({ expect }) => {
    const results = await Promise.all([
      cli(['list', '--bogus'], key),
      cli(['list', '--limit', 'ten'], key),
      cli(['submit'], key),
      cli(['show'], key),
      cli(['act', 'FJA-2026-0001'], key),
      cli(['act', 'FJA-2026-0001', 'approve'], key),
      cli(['act', 'FJA-2026-0001', 'acknowledge', '--data', '{"reason":'], key),
      cli(['redrive', '--limit', '-1']),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
    expect(results.map((r) => r.stderr.split('\n')[0])).toEqual([
      'referrals list: unknown option --bogus',
      'referrals list: --limit: expected a whole number from 1 to 1000, got "ten"',
      'referrals submit: missing argument <file.json>',
      'referrals show: missing argument <referralId>',
      'referrals act: missing argument <action>',
      expect.stringMatching(/^referrals act: unknown action "approve"; actions: acknowledge, /),
      expect.stringMatching(/^referrals act: --data: not valid JSON/),
      expect.stringMatching(/^referrals redrive: --limit: a value is required/),
    ]);
    expect(results[0]!.stderr).toContain('(referrals list --help shows the usage)');
  });

  it('exits 2 naming an unreadable or invalid JSON file', async ({ expect }) => {
    const invalid = join(dir, 'invalid.json');
    writeFileSync(invalid, '{"referralId": "FJA-1",');
    const array = join(dir, 'array.json');
    writeFileSync(array, '[]');
    const missing = join(dir, 'missing.json');
    const [a, b, c, d] = await Promise.all([cli(['submit', missing], key), cli(['submit', invalid], key), cli(['submit', array], key), cli(['act', 'FJA-2026-0001', 'acknowledge', '--file', missing], key)]);
    expect([a.code, b.code, c.code, d.code]).toEqual([2, 2, 2, 2]);
    expect(a.stderr).toContain(`referrals submit: ${missing}: cannot read (no such file)`);
    expect(b.stderr).toContain(`referrals submit: ${invalid}: not valid JSON (`);
    expect(c.stderr).toContain(`referrals submit: ${array}: expected a JSON object`);
    expect(d.stderr).toContain(`referrals act: ${missing}: cannot read (no such file)`);
  });

  it('exits 2 naming REFERRALS_API_KEY when it is missing, and REFERRALS_API_URL when it is not a URL', async ({ expect }) => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, '{}');
    const [list, submit, url] = await Promise.all([cli(['list']), cli(['submit', file]), cli(['show', 'FJA-2026-0001'], { ...key, REFERRALS_API_URL: 'nowhere' })]);
    expect([list.code, submit.code, url.code]).toEqual([2, 2, 2]);
    expect(list.stderr).toMatch(/^referrals list: REFERRALS_API_KEY is not set/);
    expect(submit.stderr).toMatch(/^referrals submit: REFERRALS_API_KEY is not set/);
    expect(url.stderr).toMatch(/^referrals show: REFERRALS_API_URL: not a URL/);
  });

  it('exits 3 when the API cannot be reached', async ({ expect }) => {
    const port = await closedPort();
    const r = await cli(['list'], { ...key, REFERRALS_API_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`referrals list: cannot reach the API at http://127.0.0.1:${port} (ECONNREFUSED): is the engine's API running? (REFERRALS_API_URL)\n`);
    expect(r.stdout).toBe('');
  });

  it('redrive exits 3 when the broker cannot be reached, and 2 for a bad KAFKA_BROKERS', async ({ expect }) => {
    const port = await closedPort();
    const [down, bad] = await Promise.all([cli(['redrive', '--dry-run'], { KAFKA_BROKERS: `127.0.0.1:${port}` }), cli(['redrive'], { KAFKA_BROKERS: 'not-a-broker' })]);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`cannot reach Kafka at 127.0.0.1:${port} (ECONNREFUSED)`);
    expect(down.stderr).toContain('(KAFKA_BROKERS)');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/KAFKA_BROKERS/);
  });

  it('runs through the package bin launcher from any directory; package.json wires the bin and the npm script', async ({ expect }) => {
    const pkg = JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { bin?: Record<string, string>; scripts?: Record<string, string> };
    expect(pkg.bin?.['referrals']).toBe('cli/bin.mjs');
    expect(pkg.scripts?.['referrals']).toBe('node cli/bin.mjs');
    const [help, unknown] = await Promise.all([
      cli(['help', 'show'], {}, { entry: [`${repoRoot}cli/bin.mjs`], cwd: dir }),
      cli(['frobnicate'], {}, { entry: [`${repoRoot}cli/bin.mjs`], cwd: dir }),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: referrals show/);
    expect(unknown.code).toBe(2);
  });
});
