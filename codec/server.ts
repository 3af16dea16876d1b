import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils.js';
import { PayloadEncryptionError } from './aes-gcm-codec.js';

/**
 * Temporal's remote codec protocol over node:http, for the Web UI and the CLI
 * (`--codec-endpoint http://127.0.0.1:8234/codec`): `POST /codec/encode` and `POST /codec/decode`
 * with `{ "payloads": [ { "metadata": { "<k>": "<base64>" }, "data": "<base64>" } ] }`, answered
 * in the same shape. It never logs payloads, tokens or keys.
 */
export interface CodecServerOptions {
  codec: PayloadCodec;
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. Anything but loopback needs `authTokenDigests`. */
  host?: string;
  /** The Temporal Web UI's origin (e.g. `http://127.0.0.1:8233`): the only browser origin allowed. */
  uiOrigin: string;
  /** sha256 hex digests of the accepted bearer tokens; empty or unset: no authentication, loopback only. */
  authTokenDigests?: readonly string[];
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
const MAX_PAYLOADS = 10_000;
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

export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
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

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const digests = (options.authTokenDigests ?? []).map((d) => Buffer.from(d.toLowerCase(), 'hex'));
  if (digests.some((d) => d.length !== 32)) throw new Error('codec server: every auth token digest must be a sha256 hex digest (64 hex characters)');
  const authenticated = digests.length > 0;
  if (!authenticated && !loopbackHosts.has(host)) {
    throw new Error(`codec server: refusing to listen on ${host} without authentication (set CODEC_AUTH_TOKENS, or listen on 127.0.0.1)`);
  }
  const origins = allowedOrigins(options.uiOrigin);
  const log = options.logger;

  const tokenAccepted = (header: string | undefined): boolean => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) return false;
    const presented = createHash('sha256').update(match[1]!, 'utf8').digest();
    // Compare against every digest, each in constant time, without stopping at a match.
    let ok = false;
    for (const digest of digests) ok = timingSafeEqual(presented, digest) || ok;
    return ok;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    const origin = req.headers.origin;
    const path = (req.url ?? '/').split('?')[0]!;
    const action = path === `${CODEC_PATH_PREFIX}/encode` ? 'encode' : path === `${CODEC_PATH_PREFIX}/decode` ? 'decode' : undefined;
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Vary', 'Origin');
    if (origin !== undefined) {
      // A browser page from anywhere else gets no CORS headers and no answer.
      if (!origins.has(origin)) throw new HttpError(403, { error: { code: 'ORIGIN_NOT_ALLOWED' } });
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (!action) throw new HttpError(404, { error: { code: 'NOT_FOUND' } });
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
      res.setHeader('Access-Control-Max-Age', '600');
      if (req.headers['access-control-request-private-network'] === 'true') res.setHeader('Access-Control-Allow-Private-Network', 'true');
      res.writeHead(204).end();
      return 204;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST, OPTIONS');
      throw new HttpError(405, { error: { code: 'METHOD_NOT_ALLOWED' } });
    }
    if (authenticated && !tokenAccepted(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, { error: { code: 'UNAUTHORIZED', message: 'expected Authorization: Bearer <token>' } });
    }
    const payloads = parseBody(await readBody(req, maxBodyBytes));
    const out: Payload[] = [];
    // One payload at a time, so a failure names the payload at fault.
    for (const [i, payload] of payloads.entries()) {
      try {
        const [converted] = action === 'encode' ? await options.codec.encode([payload]) : await options.codec.decode([payload]);
        out.push(converted!);
      } catch (err) {
        const message = err instanceof PayloadEncryptionError ? err.message : `${action} failed`;
        const code = err instanceof PayloadEncryptionError ? err.code : `${action.toUpperCase()}_FAILED`;
        throw new HttpError(422, { error: { code, field: `payloads[${i}]`, message } });
      }
    }
    const body = JSON.stringify({ payloads: out.map((p) => payloadToJSON(p)) });
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
    return 200;
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
  if (authenticated) {
    log.info({ component: 'codec-server', endpoint, uiOrigin: options.uiOrigin, tokens: digests.length }, 'codec server listening (bearer tokens required)');
  } else {
    log.warn(
      { component: 'codec-server', endpoint, uiOrigin: options.uiOrigin },
      'codec server listening WITHOUT authentication, on loopback only: for local development (set CODEC_AUTH_TOKENS to require bearer tokens)',
    );
  }
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

function parseBody(body: Buffer): Payload[] {
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
  return list.map((item: unknown, i) => {
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
}
