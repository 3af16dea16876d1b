import { readFileSync } from 'node:fs';
import { repoRoot } from './stack-paths.js';

/**
 * HTCDS 2.0's field definitions, read from IOM's own file (../shared/htcds/Field Definitions.md,
 * copied unchanged from UNMigration/HTCDS; CC BY 4.0): the tests check the export against it,
 * not against a list of our own.
 *
 * The file is Markdown tables under headings. A table headed `Field Name | Definition` lists
 * fields by their names (`MethodsOfControlDebtBondage`, `A_AgricultureForestryAndFishing`). A
 * table headed `Field Label | Definition` lists the values (labels) of the picklist its heading
 * names: "Trafficking Status" → the field `TraffickingStatus` (a field's name is its label without
 * spaces, each word capitalised: HTCDS Field Column Reference, "Field Name").
 */
export interface HtcdsDefinitions {
  /** Field names, with their definitions. */
  fields: Map<string, string>;
  /** Picklist fields by name, with their values. */
  picklists: Map<string, string[]>;
}

export const htcdsDefinitionsFile = process.env['HTCDS_FIELD_DEFINITIONS'] ?? `${repoRoot}../shared/htcds/Field Definitions.md`;

/** "Trafficking Status" → "TraffickingStatus". */
export function fieldNameOfLabel(label: string): string {
  return label
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

export function parseHtcdsDefinitions(text: string): HtcdsDefinitions {
  const fields = new Map<string, string>();
  const picklists = new Map<string, string[]>();
  let heading = '';
  let table: { kind: 'name' | 'label'; rows: number } | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const h = /^#{1,6}\s*(.+?)\s*$/.exec(line);
    if (h) {
      heading = h[1]!;
      table = undefined;
      continue;
    }
    if (!line.startsWith('|')) {
      table = undefined;
      continue;
    }
    const cells = line
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((c) => c.trim());
    if (!table) {
      const first = cells[0]?.toLowerCase();
      table = first === 'field name' ? { kind: 'name', rows: 0 } : first === 'field label' ? { kind: 'label', rows: 0 } : undefined;
      continue;
    }
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    const [first = '', definition = ''] = cells;
    if (!first) continue;
    if (table.kind === 'name') fields.set(first, definition);
    else {
      const name = fieldNameOfLabel(heading);
      picklists.set(name, [...(picklists.get(name) ?? []), first]);
    }
    table.rows += 1;
  }
  return { fields, picklists };
}

export function loadHtcdsDefinitions(file = htcdsDefinitionsFile): HtcdsDefinitions {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`HTCDS field definitions not found at ${file} (${(err as NodeJS.ErrnoException).code}): set HTCDS_FIELD_DEFINITIONS to IOM's "Field Definitions.md"`);
  }
  return parseHtcdsDefinitions(text);
}

/** A field whose definition says "Indicates whether …" is a checkbox: true or false. */
export function isCheckbox(definitions: HtcdsDefinitions, field: string): boolean {
  return /^Indicates whether\b/.test(definitions.fields.get(field) ?? '');
}

/**
 * Checks every column and value of an export against the definitions: the problems found, none
 * when it conforms. A column must be a field name or a picklist field; a picklist's values must be
 * its values, a checkbox's `true` or `false`.
 */
export function conformanceProblems(definitions: HtcdsDefinitions, columns: readonly string[], rows: ReadonlyArray<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const column of columns) {
    if (!definitions.fields.has(column) && !definitions.picklists.has(column)) problems.push(`column ${column}: not an HTCDS field name`);
  }
  for (const [i, row] of rows.entries()) {
    for (const [column, value] of Object.entries(row)) {
      if (!columns.includes(column)) problems.push(`row ${i}: ${column} is not a column`);
      const picklist = definitions.picklists.get(column);
      if (picklist && !picklist.includes(value)) problems.push(`row ${i}: ${column} = "${value}" is not one of its values (${picklist.join(' | ')})`);
      if (isCheckbox(definitions, column) && value !== 'true' && value !== 'false') problems.push(`row ${i}: ${column} = "${value}" is not a checkbox value`);
      if (!picklist && !isCheckbox(definitions, column)) problems.push(`row ${i}: ${column} has no values the definitions name`);
    }
  }
  return problems;
}

/** Parses the export's CSV (RFC 4180, as exports/htcds.ts writes it): header and rows. */
export function parseCsv(text: string): { header: string[]; rows: Array<Record<string, string>> } {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 1;
    } else field += c;
  }
  if (field !== '' || record.length > 0) records.push([...record, field]);
  const [header = [], ...rest] = records;
  return { header, rows: rest.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? '']))) };
}
