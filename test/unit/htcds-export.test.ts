import { describe, expect, it } from 'vitest';
import {
  HTCDS_COLUMNS,
  METHODS_OF_CONTROL,
  METHODS_OF_CONTROL_PREFIX,
  QUASI_IDENTIFIERS,
  TRAFFICKING_STATUS,
  buildExport,
  htcdsRow,
  inMonths,
  methodOfControl,
  monthOf,
  suppressSmallCells,
  toCsv,
  traffickingStatus,
  type ExportCase,
} from '../../exports/htcds.js';
import { exportFormat } from '../../api/routes/exports.js';
import { createServer } from 'node:http';
import { exportCommand, parseExportArgs } from '../../cli/export.js';
import { UsageError } from '../../cli/errors.js';
import { conformanceProblems, fieldNameOfLabel, isCheckbox, loadHtcdsDefinitions, parseCsv } from '../support/htcds-definitions.js';

const definitions = loadHtcdsDefinitions();

const aCase = (over: Partial<ExportCase> = {}): ExportCase => ({ referralId: `R-${Math.random()}`, caseType: 'TRAFFICKING', indicators: [], ...over });

describe('HTCDS 2.0 field definitions (IOM\'s file, parsed)', () => {
  it('are read as IOM wrote them: the methods of control by name, Trafficking Status with its three values', () => {
    const methods = [...definitions.fields.keys()].filter((f) => f.startsWith(METHODS_OF_CONTROL_PREFIX));
    expect(methods.length).toBeGreaterThanOrEqual(17);
    expect(definitions.fields.has('A_AgricultureForestryAndFishing')).toBe(true);
    expect(definitions.picklists.get('TraffickingStatus')).toHaveLength(3);
    expect(fieldNameOfLabel('Trafficking Status')).toBe('TraffickingStatus');
    for (const m of methods) expect(isCheckbox(definitions, m), m).toBe(true);
  });

  it('name every column of the export, and the export\'s Trafficking Status values are the standard\'s', () => {
    for (const column of HTCDS_COLUMNS) expect(definitions.fields.has(column) || definitions.picklists.has(column), column).toBe(true);
    expect([...TRAFFICKING_STATUS].sort()).toEqual([...definitions.picklists.get('TraffickingStatus')!].sort());
    // Every method of control the standard defines is either exported or (Other) knowingly not.
    const notExported = [...definitions.fields.keys()].filter((f) => f.startsWith(METHODS_OF_CONTROL_PREFIX) && !(HTCDS_COLUMNS as readonly string[]).includes(f));
    expect(notExported).toEqual(['MethodsOfControlOther']);
  });
});

describe('mapping a referral to an HTCDS row', () => {
  it('reads methods of control from free-text indicators, the field\'s own words included', () => {
    expect(methodOfControl('debt bondage')).toBe('DebtBondage');
    expect(methodOfControl('Passport CONFISCATED by the employer')).toBe('WithholdsDocuments');
    expect(methodOfControl('documents held by escort')).toBe('WithholdsDocuments');
    expect(methodOfControl('threatened with deportation')).toBe('ThreatOfLawEnforcement');
    expect(methodOfControl('threatened family')).toBe('Threats');
    expect(methodOfControl('MethodsOfControlExcessiveWorkingHours')).toBe('ExcessiveWorkingHours');
    expect(methodOfControl('RestrictsMovement')).toBe('RestrictsMovement');
    // Whole words only, and an indicator that names no method is not "Other": it is not a method.
    expect(methodOfControl('undebted')).toBeUndefined();
    expect(methodOfControl('inconsistent travel story')).toBeUndefined();
    expect(methodOfControl('salary far above market')).toBeUndefined();
  });

  it('takes Trafficking Status from screening', () => {
    expect(traffickingStatus({ caseType: 'TRAFFICKING' })).toBe('Possible victim of trafficking');
    expect(traffickingStatus({ caseType: 'TRAFFICKING', victimIdentified: true })).toBe('Actual victim of trafficking');
    expect(traffickingStatus({ caseType: 'SMUGGLING', victimIdentified: true })).toBe('Possible victim of trafficking');
    expect(traffickingStatus({ caseType: 'FRAUDULENT_JOB_AD', victimIdentified: false })).toBe('Not a victim of trafficking');
  });

  it('gives every column a value the definitions allow, and nothing else', () => {
    const rows = [
      htcdsRow(aCase({ indicators: ['debt bondage', 'passport withheld', 'beaten', 'unknown thing'] })),
      htcdsRow(aCase({ victimIdentified: false })),
      htcdsRow(aCase({ caseType: 'UNKNOWN', victimIdentified: true, indicators: ['locked in', 'no food'] })),
    ];
    expect(conformanceProblems(definitions, HTCDS_COLUMNS, rows)).toEqual([]);
    expect(Object.keys(rows[0]!)).toEqual([...HTCDS_COLUMNS]);
    expect(rows[0]).toMatchObject({ MethodsOfControlDebtBondage: 'true', MethodsOfControlWithholdsDocuments: 'true', MethodsOfControlPhysicalAbuse: 'true', MethodsOfControlThreats: 'false' });
    // The check itself catches what does not conform.
    expect(conformanceProblems(definitions, ['Name', 'TraffickingStatus'], [{ TraffickingStatus: 'Victim' }])).toEqual([
      'column Name: not an HTCDS field name',
      expect.stringMatching(/^row 0: TraffickingStatus = "Victim" is not one of its values/),
    ]);
    expect(METHODS_OF_CONTROL.map((m) => m.method)).not.toContain('Other');
  });
});

describe('de-identification', () => {
  it('withholds every case whose cell (all exported columns) fewer than k cases share, and counts it', () => {
    const common = Array.from({ length: 5 }, () => aCase({ indicators: ['debt bondage'] }));
    const rare = [aCase({ indicators: ['debt bondage', 'drugged'] }), aCase({ indicators: ['drugged', 'debt bondage'] })];
    const { rows, suppressed, suppressedCells } = suppressSmallCells([...rare, ...common].map(htcdsRow), 5);
    expect(rows).toHaveLength(5);
    expect([suppressed, suppressedCells]).toEqual([2, 1]);
    expect(rows.every((r) => r.MethodsOfControlPsychoactiveSubstances === 'false')).toBe(true);
    expect(suppressSmallCells([...rare, ...common].map(htcdsRow), 2).suppressed).toBe(0);
    expect(QUASI_IDENTIFIERS).toEqual(HTCDS_COLUMNS);
  });

  it('sorts the rows by their values, so their order says nothing about when a case came in', () => {
    const cases = [...Array.from({ length: 3 }, () => aCase({ victimIdentified: true })), ...Array.from({ length: 3 }, () => aCase({ victimIdentified: false }))];
    const a = buildExport(cases, { filters: {}, minCell: 3 }).rows;
    const b = buildExport([...cases].reverse(), { filters: {}, minCell: 3 }).rows;
    expect(a).toEqual(b);
  });

  it('deals in months: filters by the month of detection (UTC), both ends inclusive', () => {
    expect(monthOf('2026-11-30T23:30:00-05:00')).toBe('2026-12');
    expect(inMonths('2026-11-01T00:00:00Z', { from: '2026-11', to: '2026-11' })).toBe(true);
    expect(inMonths('2026-10-31T23:59:59Z', { from: '2026-11' })).toBe(false);
    expect(inMonths('2026-12-01T00:00:00Z', { to: '2026-11' })).toBe(false);
  });

  it('writes RFC 4180 CSV with a header of the field names, and JSON that says what was withheld', () => {
    const cases = Array.from({ length: 2 }, () => aCase({ indicators: ['debt bondage'] }));
    const result = buildExport([...cases, aCase({ victimIdentified: false })], { filters: { from: '2026-01' }, minCell: 2, unreadable: 1 });
    const csv = toCsv(result.rows);
    expect(csv.split('\r\n')[0]).toBe(HTCDS_COLUMNS.join(','));
    expect(csv.endsWith('\r\n')).toBe(true);
    const parsed = parseCsv(csv);
    expect(parsed.header).toEqual([...HTCDS_COLUMNS]);
    expect(parsed.rows).toEqual(result.rows);
    expect(result).toMatchObject({ standard: 'HTCDS 2.0', cases: 3, suppressed: 1, suppressedCells: 1, unreadable: 1, minCell: 2, filters: { from: '2026-01' } });
    expect(result.attribution).toMatch(/IOM.*CC BY 4\.0.*no endorsement/);
    expect(JSON.stringify(result)).not.toMatch(/R-0\./);
  });
});

describe('asking for an export', () => {
  it('picks the format from ?format=, then Accept', () => {
    expect(exportFormat('csv', 'application/json')).toBe('csv');
    expect(exportFormat(undefined, 'text/csv')).toBe('csv');
    expect(exportFormat(undefined, 'application/json, text/csv;q=0.5')).toBe('json');
    expect(exportFormat(undefined, 'text/csv;q=0.9, application/json;q=0.1')).toBe('csv');
    expect(exportFormat(undefined, '*/*')).toBe('json');
    expect(exportFormat(undefined, undefined)).toBe('json');
    expect(exportFormat(undefined, 'application/xml')).toBeUndefined();
  });

  it('parses the CLI flags, and names the flag at fault', () => {
    expect(parseExportArgs(['--format', 'htcds', '--from', '2026-01', '--to', '2026-06', '--agency', 'fia', '--output', 'JSON'])).toEqual({
      query: { format: 'json', from: '2026-01', to: '2026-06', agency: 'FIA' },
    });
    expect(parseExportArgs(['--format', 'htcds'])).toEqual({ query: { format: 'csv' } });
    expect(parseExportArgs(['--help'])).toBe('help');
    const problem = (args: string[]) => {
      try {
        parseExportArgs(args);
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(problem([])).toMatch(/^--format: required/);
    expect(problem(['--format', 'csv'])).toBe('--format: expected htcds, got "csv"');
    expect(problem(['--format', 'htcds', '--from', '2026-13'])).toMatch(/^--from: expected a month YYYY-MM/);
    expect(problem(['--format', 'htcds', '--to', 'June'])).toMatch(/^--to: expected a month YYYY-MM/);
    expect(problem(['--format', 'htcds', '--from', '2026-06', '--to', '2026-01'])).toBe('--to: 2026-01 is before --from 2026-06');
    expect(problem(['--format', 'htcds', '--agency', 'NASA'])).toMatch(/^--agency: expected one of FIA, NCCIA/);
    expect(problem(['--format', 'htcds', '--agency', 'PARTNER'])).toMatch(/^--agency: expected one of/);
    expect(problem(['--format', 'htcds', '--output', 'xml'])).toMatch(/^--output: expected one of CSV, JSON/);
    expect(problem(['--format', 'htcds', '--limit', '3'])).toBe('unknown option --limit');
  });

  it('says it is still reading while the server reads, then what it exported', async () => {
    const csv = toCsv(buildExport(Array.from({ length: 2 }, () => aCase()), { filters: {}, minCell: 2 }).rows);
    let asked = '';
    const server = createServer((req, res) => {
      asked = req.url ?? '';
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/csv', 'x-export-cases': '3', 'x-export-rows': '2', 'x-export-suppressed': '1', 'x-export-unreadable': '0', 'x-export-min-cell': '2' });
        res.end(csv);
      }, 250);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const out: string[] = [];
    const err: string[] = [];
    try {
      const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env: { REFERRALS_API_URL: `http://127.0.0.1:${port}`, REFERRALS_API_KEY: 'k' }, readStdin: () => '' };
      expect(await exportCommand(['--format', 'htcds', '--to', '2026-02'], io, { progressEveryMs: 50 })).toBe(0);
    } finally {
      server.close();
    }
    expect(asked).toBe('/exports/htcds?format=csv&to=2026-02');
    expect(out).toEqual([csv.replace(/\r\n$/, '')]);
    expect(err[0]).toBe('referrals export: reading referrals (to 2026-02) ...');
    expect(err.filter((l) => l.startsWith('referrals export: still reading referrals (')).length).toBeGreaterThanOrEqual(2);
    expect(err.at(-1)).toMatch(/^referrals export: 2 rows of 3 referrals in [\d.]+ s; 1 withheld \(cells under k=2\)$/);
  });
});
