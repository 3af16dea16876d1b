import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils.js';
import { decodeJwt } from 'jose';
import { AuthError, type Principal } from '../api/auth.js';
import type { CodecAuditV1 } from '../schemas/audit.js';
import { isEncryptedPayload, payloadWorkflowId, PayloadEncryptionError } from './aes-gcm-codec.js';
import type { CodecAudit } from './audit.js';
import type { DecodeDecision, DecodePolicy } from './decode-policy.js';
import { referralIdsOf } from '../workflows/ids.js';
import { cookieValue, createSessionStore, SESSION_COOKIE, sessionCookie, type CodecSession } from './sessions.js';
import { signedInPage, signInPage, signedOutPage } from './session-page.js';

/**
 * Temporal's remote codec protocol over node:http, for the Web UI and the CLI
 * (`--codec-endpoint http://127.0.0.1:8234/codec --codec-auth "Bearer <API key>"`):
 * `POST /codec/encode` and `POST /codec/decode` with
 * `{ "payloads": [ { "metadata": { "<k>": "<base64>" }, "data": "<base64>" } ] }`, answered in the
 * same shape.
 *
 * Callers are the API's identities (the API's authenticator: an API key or a signed token as
 * `Authorization: Bearer`), or a browser signed in at `/codec/session` (an HttpOnly cookie the Web
 * UI sends with "Include cross-origin credentials"). A payload is decoded only for a caller the
 * decode policy allows for the workflow it names (codec/decode-policy.ts); any other comes back
 * as it was sent, still encrypted, so the UI keeps working. Every decode request leaves one audit
 * record, in the log and on the audit topic, before anything decoded is answered. It never logs
 * payloads, tokens, session ids or keys.
 */
export interface CodecServerOptions {
  codec: PayloadCodec;
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. Beyond loopback, serve it behind TLS (the session cookie is then Secure). */
  host?: string;
  /** The Temporal Web UI's origin (e.g. `http://127.0.0.1:8233`): the only browser origin allowed, with credentials. */
  uiOrigin: string;
  /** The API's authenticator (api/auth.ts createAuthenticator). */
  authenticate: (headers: Record<string, string | string[] | undefined>) => Promise<Principal>;
  /** Who may read which payloads. */
  policy: DecodePolicy;
  /** Where each decode request's record goes besides the log. */
  audit: CodecAudit;
  /** Lifetime of a sign-in session (default one hour; never beyond the signed token's `exp`). */
  sessionTtlMs?: number;
  /** The Secure attribute of the session cookie; default: on unless the server listens on loopback. */
  secureCookies?: boolean;
  maxBodyBytes?: number;
  logger: CodecServerLogger;
}

export interface CodecServerLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface CodecServer {
  /** Base endpoint to give the Web UI or the CLI, e.g. `http://127.0.0.1:8234/codec`. */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

export const CODEC_PATH_PREFIX = '/codec';
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_FORM_BYTES = 8 * 1024;
const MAX_PAYLOADS = 10_000;
/** Workflows an audit record lists one by one; the rest are counted. */
const MAX_AUDITED_WORKFLOWS = 100;
const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost']);
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

interface ErrorBody {
  error: { code: string; field?: string; message?: string };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.error.code);
  }
}

/**
 * Origins allowed to call the server from a browser: the UI's, and for a loopback UI its
 * `localhost` / `127.0.0.1` twin (the browser sends whichever host the operator typed).
 */
function allowedOrigins(uiOrigin: string): Set<string> {
  const url = new URL(uiOrigin);
  const origins = new Set([url.origin]);
  const twin = url.hostname === '127.0.0.1' ? 'localhost' : url.hostname === 'localhost' ? '127.0.0.1' : undefined;
  if (twin) origins.add(`${url.protocol}//${twin}${url.port ? `:${url.port}` : ''}`);
  return origins;
}

/** Who is calling: a bearer credential, a session, nobody, or credentials that were refused. */
type Caller =
  | { credential: 'bearer' | 'session'; principal: Principal }
  | { credential: 'none' }
  | { credential: 'rejected'; error: AuthError | HttpError; code: string };

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The `exp` of a bearer JWT (already verified by the authenticator), in epoch milliseconds. */
function tokenExpiry(headers: Record<string, string | string[] | undefined>): number | undefined {
  const auth = headers['authorization'];
  const value = (Array.isArray(auth) ? auth[0] : auth) ?? '';
  const token = value.toLowerCase().startsWith('bearer ') ? value.slice(7).trim() : '';
  if (token.split('.').length !== 3) return undefined;
  try {
    const exp = decodeJwt(token).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

const publicPrincipal = (p: Principal) => ({ id: p.id, agency: p.agency, role: p.role, ...(p.organisation ? { organisation: p.organisation } : {}) });

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const origins = allowedOrigins(options.uiOrigin);
  const log = options.logger;
  const sessionTtlMs = options.sessionTtlMs ?? 3_600_000;
  const sessions = createSessionStore({ ttlMs: sessionTtlMs });
  const secure = options.secureCookies ?? !loopbackHosts.has(host);
  const clearCookie = sessionCookie('', 0, secure);

  const refusedCredentials = (err: unknown): Caller => {
    if (err instanceof AuthError) return { credential: 'rejected', error: err, code: err.code };
    throw err;
  };

  /** A bearer credential if one was sent (a bad one is refused, not ignored), else the session cookie. */
  const callerOf = async (req: IncomingMessage, res: ServerResponse): Promise<Caller> => {
    if (req.headers.authorization !== undefined || req.headers['x-api-key'] !== undefined) {
      try {
        return { credential: 'bearer', principal: await options.authenticate(req.headers) };
      } catch (err) {
        return refusedCredentials(err);
      }
    }
    const id = cookieValue(header(req, 'cookie'), SESSION_COOKIE);
    if (id === undefined) return { credential: 'none' };
    const session = sessions.get(id);
    if (session) return { credential: 'session', principal: session.principal };
    res.setHeader('Set-Cookie', clearCookie);
    const error = new HttpError(401, { error: { code: 'SESSION_UNKNOWN', message: `the session has ended (expired, signed out, or the server restarted): sign in again at ${CODEC_PATH_PREFIX}/session` } });
    return { credential: 'rejected', error, code: 'SESSION_UNKNOWN' };
  };

  const unauthorized = (res: ServerResponse, caller: Caller & { credential: 'none' | 'rejected' }): HttpError => {
    res.setHeader('WWW-Authenticate', 'Bearer');
    if (caller.credential === 'rejected') {
      const e = caller.error;
      return e instanceof HttpError ? e : new HttpError(e.status, { error: { code: e.code, message: e.message } });
    }
    return new HttpError(401, { error: { code: 'UNAUTHENTICATED', message: `send "Authorization: Bearer <API key or token>", or sign in at ${CODEC_PATH_PREFIX}/session` } });
  };

  const encode = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const caller = await callerOf(req, res);
    if (caller.credential === 'none' || caller.credential === 'rejected') throw unauthorized(res, caller);
    const { payloads } = parseBody(await readBody(req, maxBodyBytes));
    const out: JSONPayload[] = [];
    for (const [i, payload] of payloads.entries()) {
      try {
        const [converted] = await options.codec.encode([payload]);
        out.push(payloadToJSON(converted!));
      } catch (err) {
        throw failure(err, 'encode', i);
      }
    }
    return answer(res, 200, { payloads: out });
  };

  const decode = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const { payloads, raw } = parseBody(await readBody(req, maxBodyBytes));
    const caller = await callerOf(req, res);
    const principal = caller.credential === 'bearer' || caller.credential === 'session' ? caller.principal : undefined;
    const namespace = header(req, 'x-namespace');
    const decisions = new Map<string | undefined, Promise<DecodeDecision>>();
    const decisionFor = (workflowId: string | undefined): Promise<DecodeDecision> => {
      let d = decisions.get(workflowId);
      if (!d) {
        d =
          caller.credential === 'rejected'
            ? Promise.resolve({ allowed: false, reason: 'UNAUTHENTICATED' as const, referralIds: workflowId === undefined ? [] : referralIdsOf(workflowId) })
            : options.policy.decide(principal, workflowId, namespace);
        decisions.set(workflowId, d);
      }
      return d;
    };
    const perWorkflow = new Map<string | undefined, { decision: DecodeDecision; decoded: number; refused: number }>();
    const counts = { total: payloads.length, decoded: 0, refused: 0, plain: 0 };
    const out: JSONPayload[] = [];
    let failed: HttpError | undefined;
    for (const [i, payload] of payloads.entries()) {
      if (!isEncryptedPayload(payload)) {
        counts.plain += 1;
        out.push(raw[i]!);
        continue;
      }
      const workflowId = payloadWorkflowId(payload);
      const decision = await decisionFor(workflowId);
      const entry = perWorkflow.get(workflowId) ?? { decision, decoded: 0, refused: 0 };
      perWorkflow.set(workflowId, entry);
      if (!decision.allowed) {
        // Returned as it came, byte for byte: the UI shows it encrypted.
        entry.refused += 1;
        counts.refused += 1;
        out.push(raw[i]!);
        continue;
      }
      try {
        const [converted] = await options.codec.decode([payload]);
        out.push(payloadToJSON(converted!));
        entry.decoded += 1;
        counts.decoded += 1;
      } catch (err) {
        failed = failure(err, 'decode', i);
        break;
      }
    }
    const refusal = caller.credential === 'rejected' ? unauthorized(res, caller) : undefined;
    const status = refusal?.status ?? failed?.status ?? 200;
    const encrypted = counts.decoded + counts.refused;
    const outcome: CodecAuditV1['outcome'] = failed
      ? 'FAILED'
      : caller.credential !== 'bearer' && caller.credential !== 'session'
        ? 'REFUSED'
        : encrypted === 0
          ? 'NONE_ENCRYPTED'
          : counts.refused === 0
            ? 'DECODED'
            : counts.decoded === 0
              ? 'REFUSED'
              : 'PARTLY_REFUSED';
    const workflows = [...perWorkflow].map(([workflowId, e]) => ({ workflowId: workflowId ?? null, referralIds: e.decision.referralIds, decision: e.decision.reason, decoded: e.decoded, refused: e.refused }));
    const listed = workflows.slice(0, MAX_AUDITED_WORKFLOWS);
    const origin = header(req, 'origin');
    const record: CodecAuditV1 = {
      principal: principal
        ? { ...publicPrincipal(principal), via: principal.via }
        : { id: 'anonymous' },
      credential: caller.credential,
      ...(caller.credential === 'rejected' ? { authError: caller.code } : {}),
      time: new Date().toISOString(),
      outcome,
      status,
      referralIds: [...new Set(listed.flatMap((w) => w.referralIds))],
      payloads: counts,
      workflows: listed,
      ...(workflows.length > listed.length ? { moreWorkflows: workflows.length - listed.length } : {}),
      ...(origin !== undefined ? { origin: origin.slice(0, 300) } : {}),
      ...(namespace !== undefined ? { namespace: namespace.slice(0, 200) } : {}),
    };
    const eventId = randomUUID();
    let written = true;
    try {
      await options.audit.write(eventId, record);
    } catch (err) {
      written = false;
      log.error({ component: 'codec-audit', eventId, err: { name: (err as Error).name, message: (err as Error).message } }, 'codec audit record could not be written to the audit topic');
    }
    // Nothing decoded leaves the server unless its record was written.
    const withheld = !written && counts.decoded > 0 && !failed;
    const entry = { component: 'codec-audit', eventId, ...record, auditTopic: written ? 'written' : 'failed', ...(withheld ? { answered: 503 } : {}) };
    if (outcome === 'DECODED' || outcome === 'NONE_ENCRYPTED') log.info(entry, 'codec decode');
    else log.warn(entry, 'codec decode refused in part or whole');
    if (refusal) throw refusal;
    if (failed) throw failed;
    if (withheld) throw new HttpError(503, { error: { code: 'AUDIT_UNAVAILABLE', message: 'the audit record of this decode could not be written; nothing was decoded; try again' } });
    return answer(res, 200, { payloads: out });
  };

  const ownOrigins = (req: IncomingMessage): string[] => {
    const h = header(req, 'host');
    return h ? [`http://${h}`, `https://${h}`] : [];
  };

  const session = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const html = (header(req, 'accept') ?? '').includes('text/html') || (header(req, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded');
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const current = (): CodecSession | undefined => {
      const id = cookieValue(header(req, 'cookie'), SESSION_COOKIE);
      return id === undefined ? undefined : sessions.get(id);
    };
    const signOut = (): boolean => {
      const id = cookieValue(header(req, 'cookie'), SESSION_COOKIE);
      res.setHeader('Set-Cookie', clearCookie);
      const ended = id !== undefined && sessions.delete(id);
      if (ended) log.info({ component: 'codec-server' }, 'codec session signed out');
      return ended;
    };
    const action = `${CODEC_PATH_PREFIX}/session`;
    if (req.method === 'GET') {
      const s = current();
      if (!html) return answer(res, 200, s ? { signedIn: true, principal: publicPrincipal(s.principal), expiresAt: new Date(s.expiresAt).toISOString() } : { signedIn: false });
      return page(res, 200, s ? signedInPage(s, action, options.uiOrigin) : signInPage(action));
    }
    if (req.method === 'DELETE') {
      signOut();
      res.writeHead(204).end();
      return 204;
    }
    // POST: sign in with a bearer credential, or with the form's.
    let headers: Record<string, string | string[] | undefined> = req.headers;
    if ((header(req, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams((await readBody(req, MAX_FORM_BYTES)).toString('utf8'));
      if (form.get('action') === 'sign-out') {
        signOut();
        return page(res, 200, signedOutPage(action));
      }
      headers = { authorization: `Bearer ${(form.get('credential') ?? '').trim()}` };
    } else {
      await readBody(req, MAX_FORM_BYTES);
    }
    let principal: Principal;
    try {
      principal = await options.authenticate(headers);
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      log.warn({ component: 'codec-server', code: err.code }, 'codec sign-in refused');
      res.setHeader('WWW-Authenticate', 'Bearer');
      if (html) return page(res, err.status, signInPage(action, `${err.code}: ${err.message}`));
      throw new HttpError(err.status, { error: { code: err.code, message: err.message } });
    }
    const created = sessions.create(principal, tokenExpiry(headers));
    res.setHeader('Set-Cookie', sessionCookie(created.id, (created.session.expiresAt - Date.now()) / 1000, secure));
    log.info({ component: 'codec-server', principal: publicPrincipal(principal), expiresAt: new Date(created.session.expiresAt).toISOString() }, 'codec session signed in');
    if (html) return page(res, 200, signedInPage(created.session, action, options.uiOrigin));
    return answer(res, 201, { signedIn: true, principal: publicPrincipal(principal), expiresAt: new Date(created.session.expiresAt).toISOString() });
  };

  const routes: Record<string, { methods: string[]; run: (req: IncomingMessage, res: ServerResponse) => Promise<number> }> = {
    [`${CODEC_PATH_PREFIX}/encode`]: { methods: ['POST'], run: encode },
    [`${CODEC_PATH_PREFIX}/decode`]: { methods: ['POST'], run: decode },
    [`${CODEC_PATH_PREFIX}/session`]: { methods: ['GET', 'POST', 'DELETE'], run: session },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const origin = req.headers.origin;
    const path = (req.url ?? '/').split('?')[0]!;
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Vary', 'Origin');
    if (origin !== undefined) {
      if (origins.has(origin)) {
        // The UI sends the session cookie only to an answer that allows credentials, for its own origin.
        res.setHeader('Access-Control-Allow-Origin', origin);
        res.setHeader('Access-Control-Allow-Credentials', 'true');
      } else if (!(path === `${CODEC_PATH_PREFIX}/session` && ownOrigins(req).includes(origin))) {
        // A page from anywhere else (but the sign-in form, on this server's own origin) gets no CORS headers and no answer.
        throw new HttpError(403, { error: { code: 'ORIGIN_NOT_ALLOWED' } });
      }
    }
    if (!route) throw new HttpError(404, { error: { code: 'NOT_FOUND' } });
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', route.methods.join(', '));
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.setHeader('Access-Control-Max-Age', '600');
      if (req.headers['access-control-request-private-network'] === 'true') res.setHeader('Access-Control-Allow-Private-Network', 'true');
      res.writeHead(204).end();
      return 204;
    }
    if (!route.methods.includes(req.method ?? '')) {
      res.setHeader('Allow', [...route.methods, 'OPTIONS'].join(', '));
      throw new HttpError(405, { error: { code: 'METHOD_NOT_ALLOWED' } });
    }
    return route.run(req, res);
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    handle(req, res)
      .catch((err: unknown) => {
        if (err instanceof HttpError) {
          res.writeHead(err.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(err.body));
          return err.status;
        }
        log.error({ component: 'codec-server', err: { name: (err as Error).name } }, 'codec request failed');
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'INTERNAL' } }));
        return 500;
      })
      .then((status) => {
        log.debug({ component: 'codec-server', method: req.method, path: (req.url ?? '').split('?')[0], status, ms: Date.now() - started }, 'codec request');
      }, () => undefined);
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`codec server: ${host}:${options.port} is already in use (set CODEC_SERVER_PORT to another port, or to 0 to run no codec server)`)
          : err,
      ),
    );
    server.listen(options.port, host, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => log.error({ component: 'codec-server', err: { message: err.message } }, 'codec server error'));
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}${CODEC_PATH_PREFIX}`;
  log.info(
    { component: 'codec-server', endpoint, uiOrigin: options.uiOrigin, signIn: `${endpoint}/session` },
    'codec server listening: decodes for operators, admins and the agencies party to a referral (API keys, signed tokens or a signed-in session); every decode audited',
  );
  return {
    endpoint,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

function answer(res: ServerResponse, status: number, body: unknown): number {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  return status;
}

function page(res: ServerResponse, status: number, html: string): number {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
  return status;
}

/** A payload the codec could not convert: 422 naming its index and, for a decryption, the key id. */
function failure(err: unknown, action: 'encode' | 'decode', i: number): HttpError {
  const message = err instanceof PayloadEncryptionError ? err.message : `${action} failed`;
  const code = err instanceof PayloadEncryptionError ? err.code : `${action.toUpperCase()}_FAILED`;
  return new HttpError(422, { error: { code, field: `payloads[${i}]`, message } });
}

/** Reads the body up to `limit` bytes; beyond it, drains the rest and answers 413. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number.isFinite(declared) && declared > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      // Keep reading (and discarding) so the client gets the 413 instead of a reset connection,
      // but not forever.
      if (size > limit * 8) {
        reject(new HttpError(413, { error: { code: 'BODY_TOO_LARGE', message: `the body may hold at most ${limit} bytes` } }));
        req.destroy();
        return;
      }
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) reject(new HttpError(413, { error: { code: 'BODY_TOO_LARGE', message: `the body may hold at most ${limit} bytes` } }));
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/** The payloads, and each as it was sent (a payload answered unchanged is answered byte for byte). */
function parseBody(body: Buffer): { payloads: Payload[]; raw: JSONPayload[] } {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, { error: { code: 'INVALID_JSON', field: '(body)' } });
  }
  const invalid = (field: string, message: string) => new HttpError(400, { error: { code: 'INVALID_PAYLOADS', field, message } });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('(body)', 'expected an object { "payloads": [...] }');
  const unknown = Object.keys(json).find((k) => k !== 'payloads');
  if (unknown !== undefined) throw invalid(unknown, 'unknown field: the body holds only "payloads"');
  // proto3 JSON leaves an empty list out: the CLI posts `{}` to encode a query without arguments.
  const list = (json as { payloads?: unknown }).payloads ?? [];
  if (!Array.isArray(list)) throw invalid('payloads', 'expected an array');
  if (list.length > MAX_PAYLOADS) throw invalid('payloads', `at most ${MAX_PAYLOADS} payloads`);
  const payloads = list.map((item: unknown, i) => {
    const field = `payloads[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalid(field, 'expected an object');
    const { metadata, data } = item as { metadata?: unknown; data?: unknown };
    if (metadata !== undefined && metadata !== null) {
      if (typeof metadata !== 'object' || Array.isArray(metadata)) throw invalid(`${field}.metadata`, 'expected an object of base64 strings');
      for (const [k, v] of Object.entries(metadata)) {
        if (typeof v !== 'string' || !BASE64.test(v)) throw invalid(`${field}.metadata.${k}`, 'expected a base64 string');
      }
    }
    if (data !== undefined && data !== null && (typeof data !== 'string' || !BASE64.test(data))) throw invalid(`${field}.data`, 'expected a base64 string');
    try {
      return JSONToPayload(item as JSONPayload);
    } catch {
      throw invalid(field, 'not a Temporal Payload');
    }
  });
  return { payloads, raw: list as JSONPayload[] };
}
