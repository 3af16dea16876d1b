import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

/**
 * node:util parseArgs in strict mode with --help added; a bad flag becomes a usage error (exit 2)
 * that names it.
 */
export function parseCommand<const T extends Record<string, OptionSpec>>(command: string, args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(err), command);
  }
}

/** parseArgs' messages name the flag; they are shortened to their first sentence. */
export function describeParseError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1];
    return flag ? `unknown option ${flag}` : message;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /'(-[^' ]+)/.exec(message)?.[1];
    if (flag && /argument missing/.test(message)) return `${flag}: a value is required`;
    if (flag && /does not take an argument/.test(message)) return `${flag}: takes no value`;
    if (flag && /ambiguous/.test(message)) return `${flag}: a value is required (for a value starting with "-", write ${flag}=-VALUE)`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return message.split('. ')[0] ?? message;
  return message;
}

/** Checks the number of positional arguments, naming the missing or extra one. */
export function positionals(command: string, given: string[], names: string[]): string[] {
  if (given.length < names.length) throw new UsageError(`missing argument <${names[given.length]}>`, command);
  if (given.length > names.length) throw new UsageError(`unexpected argument "${given[names.length]}"`, command);
  return given;
}

/** A whole number flag value within bounds (`--limit`). */
export function wholeNumber(command: string, flag: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`${flag}: expected a whole number ${range}, got "${value}"`, command);
  }
  return n;
}

/** A code flag from a closed list, upper-cased (`--province punjab`). */
export function oneOf(command: string, flag: string, value: string | undefined, allowed: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  const upper = value.trim().toUpperCase();
  if (!allowed.includes(upper)) throw new UsageError(`${flag}: expected one of ${allowed.join(', ')}, got "${value}"`, command);
  return upper;
}

/**
 * Where relative paths are resolved: the shell's directory, also under `npm run` (which runs
 * scripts in the package root and passes the caller's directory as INIT_CWD).
 */
export function callerDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env['npm_lifecycle_event'] === 'referrals' && env['INIT_CWD'] ? env['INIT_CWD'] : process.cwd();
}

/** Reads and parses a JSON file ("-": standard input); unreadable or invalid JSON is a usage error naming the file. */
export function readJsonFile(command: string, file: string, readStdin: () => string = () => readFileSync(0, 'utf8')): unknown {
  let text: string;
  const name = file === '-' ? 'standard input' : file;
  try {
    text = file === '-' ? readStdin() : readFileSync(resolve(callerDirectory(), file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new UsageError(`${name}: cannot read (${why})`, command);
  }
  return parseJson(command, name, text);
}

/** Parses JSON text, naming where it came from when it is not JSON. */
export function parseJson(command: string, what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what}: not valid JSON (${(err as Error).message})`, command);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
