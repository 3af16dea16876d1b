import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AgencyCode } from '../schemas/common.js';
import { apiSettings, callApi } from './api.js';
import { callerDirectory, oneOf, parseCommand, positionals } from './args.js';
import { CliError, EXIT, UsageError, type ExitCode } from './errors.js';
import { commandHelp } from './help.js';
import type { Io } from './io.js';

export interface ExportArgs {
  query: { format: 'csv' | 'json'; from?: string; to?: string; agency?: string };
  /** Where the export goes: a file, or standard output. */
  file?: string;
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

function month(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (!MONTH.test(v)) throw new UsageError(`${flag}: expected a month YYYY-MM (e.g. 2026-11), got "${value}"`, 'export');
  return v;
}

export function parseExportArgs(args: string[]): ExportArgs | 'help' {
  const { values, positionals: given } = parseCommand('export', args, {
    format: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    agency: { type: 'string' },
    output: { type: 'string' },
    file: { type: 'string' },
  });
  if (values.help) return 'help';
  positionals('export', given, []);
  if (values.format === undefined) throw new UsageError('--format: required; the one format is htcds (--format htcds)', 'export');
  if (values.format.trim().toLowerCase() !== 'htcds') throw new UsageError(`--format: expected htcds, got "${values.format}"`, 'export');
  const from = month('--from', values.from);
  const to = month('--to', values.to);
  if (from && to && to < from) throw new UsageError(`--to: ${to} is before --from ${from}`, 'export');
  const agency = oneOf('export', '--agency', values.agency, AgencyCode.options.filter((a) => a !== 'PARTNER'));
  const output = oneOf('export', '--output', values.output ?? 'csv', ['CSV', 'JSON'])!.toLowerCase() as 'csv' | 'json';
  const file = values.file?.trim();
  if (values.file !== undefined && !file) throw new UsageError('--file: a file name is required', 'export');
  return {
    query: { format: output, ...(from ? { from } : {}), ...(to ? { to } : {}), ...(agency ? { agency } : {}) },
    ...(file ? { file } : {}),
  };
}

/** How often a long export says it is still running, on standard error. */
export const PROGRESS_EVERY_MS = 5000;

export async function exportCommand(args: string[], io: Io, options: { progressEveryMs?: number } = {}): Promise<ExitCode> {
  const parsed = parseExportArgs(args);
  if (parsed === 'help') {
    io.out(commandHelp.export);
    return EXIT.OK;
  }
  // The export reads every referral within the filters: minutes for a large one.
  const settings = { ...apiSettings(io.env), timeoutMs: 15 * 60_000 };
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  io.err(`referrals export: reading referrals${describe(parsed.query)} ...`);
  const timer = setInterval(() => io.err(`referrals export: still reading referrals (${Math.round((Date.now() - started) / 1000)} s)`), options.progressEveryMs ?? PROGRESS_EVERY_MS);
  let response: Awaited<ReturnType<typeof callApi<unknown>>>;
  try {
    response = await callApi<unknown>(settings, 'GET', '/exports/htcds', { query: parsed.query, headers: { accept: parsed.query.format === 'csv' ? 'text/csv' : 'application/json' } });
  } finally {
    clearInterval(timer);
  }
  const text = parsed.query.format === 'json' ? `${JSON.stringify(response.body, null, 2)}\n` : response.text;
  if (parsed.file) {
    const path = resolve(callerDirectory(io.env), parsed.file);
    try {
      writeFileSync(path, text, { mode: 0o600 });
    } catch (err) {
      throw new CliError(EXIT.USAGE, `--file: cannot write ${parsed.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  } else io.out(text.replace(/\r?\n$/, ''));
  const h = (name: string) => response.headers.get(`x-export-${name}`) ?? '?';
  io.err(
    `referrals export: ${h('rows')} rows of ${h('cases')} referrals in ${seconds()} s; ${h('suppressed')} withheld (cells under k=${h('min-cell')})` +
      `${h('unreadable') !== '0' ? `; ${h('unreadable')} could not be read` : ''}${parsed.file ? `; written to ${parsed.file}` : ''}`,
  );
  return EXIT.OK;
}

function describe(q: ExportArgs['query']): string {
  const parts = [q.from ? `from ${q.from}` : '', q.to ? `to ${q.to}` : '', q.agency ? `led by ${q.agency}` : ''].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
