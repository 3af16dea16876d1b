import { CliError, EXIT, UsageError } from './errors.js';

export interface ApiSettings {
  baseUrl: URL;
  apiKey: string;
  /** How long one request may take (an action waits for the workflow's update). */
  timeoutMs: number;
}

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

/** REFERRALS_API_URL and REFERRALS_API_KEY; a missing key or a bad URL is a usage error naming the variable. */
export function apiSettings(env: NodeJS.ProcessEnv = process.env): ApiSettings {
  const apiKey = env['REFERRALS_API_KEY']?.trim();
  if (!apiKey) {
    throw new UsageError('REFERRALS_API_KEY is not set: export your API key, e.g. REFERRALS_API_KEY=$(node -p "require(\'./.stack/api-keys.json\')[\'fia-officer\']")');
  }
  const raw = env['REFERRALS_API_URL']?.trim() || DEFAULT_API_URL;
  let baseUrl: URL;
  try {
    baseUrl = new URL(raw.endsWith('/') ? raw : `${raw}/`);
  } catch {
    throw new UsageError(`REFERRALS_API_URL: not a URL ("${raw}"); expected e.g. ${DEFAULT_API_URL}`);
  }
  if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') throw new UsageError(`REFERRALS_API_URL: expected an http:// or https:// URL, got "${raw}"`);
  return { baseUrl, apiKey, timeoutMs: 60_000 };
}

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string; problems?: Array<{ field: string; message: string }> };
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Headers;
  /** The body as it came (a CSV export is not JSON). */
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
}

/**
 * One request to the API. 2xx answers are returned; everything else becomes a CliError with the
 * exit code scripts rely on: 404 → 4, other 4xx → 1, 5xx and network failures → 3.
 */
export async function callApi<T>(settings: ApiSettings, method: 'GET' | 'POST', path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  const url = new URL(path.replace(/^\//, ''), settings.baseUrl);
  for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(name, value);
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${settings.apiKey}`,
        accept: 'application/json',
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
  } catch (err) {
    throw new CliError(EXIT.UNREACHABLE, `cannot reach the API at ${settings.baseUrl.origin} (${networkReason(err)}): is the engine's API running? (REFERRALS_API_URL)`);
  }
  const text = await response.text().catch(() => '');
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.ok) return { status: response.status, body: body as T, headers: response.headers, text };
  throw errorFromResponse(response.status, body, text, settings);
}

export function errorFromResponse(status: number, body: unknown, text: string, settings: Pick<ApiSettings, 'baseUrl'>): CliError {
  const error = (body as Partial<ApiErrorBody> | undefined)?.error;
  const code = error?.code ?? `HTTP_${status}`;
  const message = error?.message ?? (text.trim().slice(0, 200) || `the API answered ${status}`);
  const line = `${code}: ${message}${error?.field ? ` (field: ${error.field})` : ''}`;
  const details = (error?.problems ?? []).map((p) => `  - ${p.field}: ${p.message}`);
  if (status === 404) return new CliError(EXIT.NOT_FOUND, line, details);
  if (status >= 500) return new CliError(EXIT.UNREACHABLE, `the API at ${settings.baseUrl.origin} failed: ${line}`, details);
  return new CliError(EXIT.REJECTED, line, details);
}

/** ECONNREFUSED, ENOTFOUND, timeout: the cause fetch wraps in "fetch failed". */
function networkReason(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'no answer in time';
  let cause: unknown = err;
  let deepest = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 5 && cause; depth += 1) {
    const c = cause as { code?: unknown; message?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof c.code === 'string') return c.code;
    if (typeof c.message === 'string' && c.message) deepest = c.message;
    cause = Array.isArray(c.errors) && c.errors.length > 0 ? c.errors[0] : c.cause;
  }
  return deepest;
}
