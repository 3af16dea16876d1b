import { mkdirSync, writeFileSync } from 'node:fs';

/**
 * One measured figure, printed beside the baseline measured in the same run: on a shared machine
 * the ratio means more than the absolute value.
 */
export interface Figure {
  scenario: string;
  name: string;
  value: number | null;
  unit: string;
  baseline?: { name: string; value: number | null };
  /** value / baseline.value */
  ratio?: number | null;
  target?: { text: string; met: boolean | null };
  note?: string;
}

export function figure(f: Omit<Figure, 'ratio'>): Figure {
  const b = f.baseline?.value;
  const ratio = f.baseline ? (f.value !== null && b !== null && b !== undefined && b !== 0 ? f.value / b : null) : undefined;
  return { ...f, ...(ratio !== undefined ? { ratio } : {}) };
}

function fmt(v: number | null | undefined, unit = ''): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  const text = v.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit ? `${text} ${unit}` : text;
}

/** The table on stdout: figure, value, baseline, ratio, target and whether it was met. */
export function printTable(figures: readonly Figure[]): void {
  const rows = figures.map((f) => [
    f.scenario,
    f.name,
    fmt(f.value, f.unit),
    f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value, f.unit)}` : '',
    f.ratio === undefined ? '' : f.ratio === null ? '—' : `${f.ratio !== 0 && Math.abs(f.ratio) < 0.01 ? f.ratio.toPrecision(2) : fmt(f.ratio)}×`,
    f.target ? `${f.target.text} ${f.target.met === null ? '?' : f.target.met ? 'met' : 'MISSED'}` : '',
  ]);
  const header = ['scenario', 'figure', 'value', 'baseline (same run)', 'ratio', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  let last = '';
  for (const [i, r] of rows.entries()) {
    if (i > 0 && r[0] !== last) out.push('');
    last = r[0]!;
    out.push(line(r));
    const note = figures[i]!.note;
    if (note) out.push(`${' '.repeat(widths[0]! + 2)}  ↳ ${note}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

export function writeResults(dir: string, startedAt: Date, document: unknown): string {
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/${startedAt.toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  return file;
}

/** A progress line per step, on stderr, so stdout holds the table alone. */
export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}
