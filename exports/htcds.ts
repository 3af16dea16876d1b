/**
 * The HTCDS export: referrals mapped field by field to the Human Trafficking Case Data Standard
 * 2.0 (HTCDS, by IOM, CC BY 4.0; use of it implies no endorsement by IOM), de-identified.
 *
 * The columns are the HTCDS 2.0 field names of its field definitions that the engine holds a
 * source for (README "HTCDS export" has the whole table, with what the engine does not hold):
 * `TraffickingStatus` (the standard's "Trafficking Status", whose values are its three labels) and
 * the `MethodsOfControl…` checkboxes, read from the referral's reported indicators. One row per
 * referral (a case), never per person: no name, contact, exact place or date leaves, and a
 * combination of values that fewer than k referrals share is withheld.
 */

/** The standard's name for its values of "Trafficking Status". */
export const TRAFFICKING_STATUS = ['Possible victim of trafficking', 'Actual victim of trafficking', 'Not a victim of trafficking'] as const;
export type TraffickingStatus = (typeof TRAFFICKING_STATUS)[number];

/**
 * The methods of control the engine can read from a referral's indicators, with the phrases that
 * say so (matched on whole words, case and punctuation ignored). The field's own words
 * (`DebtBondage` → "debt bondage") always match too. Order matters: an indicator counts for the
 * first method it matches (a threat to call the police is ThreatOfLawEnforcement, not Threats).
 * `MethodsOfControlOther` is not among them: an indicator that matches none is not known to be a
 * method of control at all.
 */
export const METHODS_OF_CONTROL: ReadonlyArray<{ method: string; phrases: readonly string[] }> = [
  { method: 'DebtBondage', phrases: ['debt', 'debts', 'bonded labour', 'bonded labor', 'peshgi'] },
  { method: 'TakesEarnings', phrases: ['wages withheld', 'withheld wages', 'unpaid wages', 'salary withheld', 'earnings taken', 'takes earnings', 'not paid'] },
  { method: 'RestrictsFinancialAccess', phrases: ['bank card taken', 'bank account controlled', 'no access to money', 'financial access'] },
  { method: 'ThreatOfLawEnforcement', phrases: ['threat of law enforcement', 'threatened with deportation', 'threat of deportation', 'threatened with police', 'threat to report', 'threatened to report'] },
  { method: 'Threats', phrases: ['threat', 'threats', 'threatened', 'intimidation', 'intimidated'] },
  { method: 'PsychologicalAbuse', phrases: ['psychological abuse', 'emotional abuse', 'verbal abuse', 'humiliation', 'humiliated'] },
  { method: 'PhysicalAbuse', phrases: ['physical abuse', 'beaten', 'beating', 'assault', 'assaulted', 'physical violence'] },
  { method: 'SexualAbuse', phrases: ['sexual abuse', 'sexual violence', 'sexually abused', 'rape'] },
  { method: 'FalsePromises', phrases: ['false promise', 'false promises', 'deceptive recruitment', 'deceived', 'fake job offer'] },
  { method: 'PsychoactiveSubstances', phrases: ['drugs', 'drugged', 'psychoactive', 'forced substance use'] },
  { method: 'RestrictsMovement', phrases: ['restricted movement', 'restricts movement', 'confined', 'confinement', 'locked in', 'not allowed to leave'] },
  { method: 'RestrictsMedicalCare', phrases: ['denied medical care', 'medical care denied', 'restricts medical care', 'no medical care'] },
  { method: 'ExcessiveWorkingHours', phrases: ['excessive working hours', 'excessive hours', 'long working hours'] },
  { method: 'UsesChildren', phrases: ['uses children', 'access to children', 'children withheld', 'separated from children'] },
  { method: 'WithholdsNecessities', phrases: ['withholds necessities', 'food withheld', 'denied food', 'withheld food', 'no food'] },
  {
    method: 'WithholdsDocuments',
    phrases: ['documents held', 'documents withheld', 'documents confiscated', 'documents taken', 'passport withheld', 'passport confiscated', 'passport taken', 'passport held', 'id card taken'],
  },
];

export const METHODS_OF_CONTROL_PREFIX = 'MethodsOfControl';

/** Every column, in order: HTCDS 2.0 field names. */
export const HTCDS_COLUMNS = ['TraffickingStatus', ...METHODS_OF_CONTROL.map((m) => `${METHODS_OF_CONTROL_PREFIX}${m.method}`)] as const;
export type HtcdsColumn = (typeof HTCDS_COLUMNS)[number];

/** A checkbox field's values. */
export const CHECKBOX = ['true', 'false'] as const;

/**
 * The quasi-identifiers: the columns whose combination could single a case out. Every column is
 * one (there is no other), so a cell is a set of referrals whose rows are identical.
 */
export const QUASI_IDENTIFIERS: readonly HtcdsColumn[] = HTCDS_COLUMNS;

export type HtcdsRow = Record<HtcdsColumn, string>;

/** What the export reads of a referral: its state (no personal data) and its reported facts. */
export interface ExportCase {
  referralId: string;
  caseType?: string;
  /** Screening's finding; undefined while the referral has not been screened. */
  victimIdentified?: boolean;
  /** The referral's reported indicators (free text, `facts.indicators`). */
  indicators: readonly string[];
}

/** Lower case, words only: "Passport WITHHELD!" → "passport withheld"; `DebtBondage` → "debt bondage". */
export function normalise(text: string): string {
  return text
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

const splitName = (method: string) => normalise(method);

/** The method of control an indicator names, if any (see METHODS_OF_CONTROL). */
export function methodOfControl(indicator: string): string | undefined {
  const text = ` ${normalise(indicator)} `;
  for (const { method, phrases } of METHODS_OF_CONTROL) {
    if ([splitName(method), ...phrases].some((p) => text.includes(` ${p} `))) return method;
  }
  return undefined;
}

/**
 * Trafficking Status from screening: no victim identified → not a victim; a victim identified in a
 * trafficking case → an actual victim (identified by the screening agency); otherwise (not yet
 * screened, or a victim of a smuggling or fraudulent-job-advertisement case) → a possible one.
 */
export function traffickingStatus(c: Pick<ExportCase, 'caseType' | 'victimIdentified'>): TraffickingStatus {
  if (c.victimIdentified === false) return 'Not a victim of trafficking';
  if (c.victimIdentified === true && c.caseType === 'TRAFFICKING') return 'Actual victim of trafficking';
  return 'Possible victim of trafficking';
}

/** One case's row: every value one of its field's values. */
export function htcdsRow(c: ExportCase): HtcdsRow {
  const methods = new Set(c.indicators.map(methodOfControl).filter((m): m is string => m !== undefined));
  const row = { TraffickingStatus: traffickingStatus(c) } as HtcdsRow;
  for (const { method } of METHODS_OF_CONTROL) row[`${METHODS_OF_CONTROL_PREFIX}${method}` as HtcdsColumn] = methods.has(method) ? 'true' : 'false';
  return row;
}

export interface SuppressedRows {
  rows: HtcdsRow[];
  /** Cases withheld: their cell (combination of the quasi-identifiers) held fewer than k. */
  suppressed: number;
  /** Cells withheld. */
  suppressedCells: number;
}

/**
 * Withholds every row whose cell (its values of QUASI_IDENTIFIERS) fewer than `k` rows share; the
 * rest are sorted by their values, so the order says nothing about when a case came in.
 */
export function suppressSmallCells(rows: readonly HtcdsRow[], k: number): SuppressedRows {
  const cellOf = (row: HtcdsRow) => QUASI_IDENTIFIERS.map((c) => row[c]).join('\u0000');
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(cellOf(row), (counts.get(cellOf(row)) ?? 0) + 1);
  const kept = rows.filter((row) => (counts.get(cellOf(row)) ?? 0) >= k);
  const keys = (row: HtcdsRow) => HTCDS_COLUMNS.map((c) => row[c]).join('\u0000');
  kept.sort((a, b) => (keys(a) < keys(b) ? -1 : keys(a) > keys(b) ? 1 : 0));
  let suppressedCells = 0;
  for (const n of counts.values()) if (n < k) suppressedCells += 1;
  return { rows: kept, suppressed: rows.length - kept.length, suppressedCells };
}

/** RFC 4180 CSV: a header of the field names, CRLF line ends, fields quoted when they must be. */
export function toCsv(rows: readonly HtcdsRow[]): string {
  const field = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [HTCDS_COLUMNS.join(','), ...rows.map((r) => HTCDS_COLUMNS.map((c) => field(r[c] ?? '')).join(','))].map((l) => `${l}\r\n`).join('');
}

export const HTCDS_ATTRIBUTION =
  'Field names and values: Human Trafficking Case Data Standard (HTCDS) 2.0 by IOM, licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); use of it implies no endorsement by IOM.';

export interface ExportFilters {
  /** First month (YYYY-MM) of detection, inclusive. */
  from?: string;
  /** Last month (YYYY-MM) of detection, inclusive. */
  to?: string;
  /** Lead agency. */
  agency?: string;
}

/** The month (YYYY-MM, UTC) of an instant: the finest date the export deals in. */
export function monthOf(iso: string): string {
  return new Date(iso).toISOString().slice(0, 7);
}

/** Whether a detection instant lies within the months asked for. */
export function inMonths(detectedAt: string, filters: Pick<ExportFilters, 'from' | 'to'>): boolean {
  const month = monthOf(detectedAt);
  return (filters.from === undefined || month >= filters.from) && (filters.to === undefined || month <= filters.to);
}

/** The JSON form: the rows and what was done to them. */
export interface HtcdsExport {
  standard: 'HTCDS 2.0';
  attribution: string;
  filters: ExportFilters;
  /** k: cells of fewer cases are withheld. */
  minCell: number;
  quasiIdentifiers: readonly string[];
  columns: readonly string[];
  /** Referrals within the filters. */
  cases: number;
  /** Referrals whose state could not be read (left out, counted). */
  unreadable: number;
  suppressed: number;
  suppressedCells: number;
  rows: HtcdsRow[];
}

/** Maps, suppresses and describes: the whole export of the cases read. */
export function buildExport(cases: readonly ExportCase[], options: { filters: ExportFilters; minCell: number; unreadable?: number }): HtcdsExport {
  const { rows, suppressed, suppressedCells } = suppressSmallCells(cases.map(htcdsRow), options.minCell);
  return {
    standard: 'HTCDS 2.0',
    attribution: HTCDS_ATTRIBUTION,
    filters: options.filters,
    minCell: options.minCell,
    quasiIdentifiers: QUASI_IDENTIFIERS,
    columns: HTCDS_COLUMNS,
    cases: cases.length,
    unreadable: options.unreadable ?? 0,
    suppressed,
    suppressedCells,
    rows,
  };
}
