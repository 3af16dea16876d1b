import { readFile } from 'node:fs/promises';
import type { FastifyReply } from 'fastify';
import type { ApiApp } from './server.js';

/** Where the console's links to the Temporal Web UI point. */
export interface ConsoleOptions {
  /** The Temporal Web UI, e.g. `http://127.0.0.1:8233` (no trailing slash needed). */
  temporalUiUrl: string;
  namespace: string;
  /** A line the sign-in card shows under its own hint, e.g. where a development stack keeps its keys (API_SIGNIN_HINT). */
  signInHint?: string;
}

/** The static files under api/pages/ and the URL each is served at. */
const FILES = [
  { url: '/console', file: 'console.html' },
  { url: '/console/app.js', file: 'console.js' },
  { url: '/console/app.css', file: 'app.css' },
  { url: '/console/common.js', file: 'common.js' },
  { url: '/partner', file: 'partner.html' },
  { url: '/partner/app.js', file: 'partner.js' },
] as const;

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/**
 * The pages only run their own files and talk only to this API: no inline script or style, no
 * external origin. Links to the Temporal UI are plain navigations, which this does not restrict.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The operator console (`GET /console`) and the partner page (`GET /partner`): static HTML, CSS
 * and plain ES modules from api/pages/, no framework and no build step. The pages ask for an API
 * key and call the API with it; the files themselves are public (they hold no data). The one
 * unauthenticated data route, `GET /console/config`, says where the Temporal UI is (and what the
 * sign-in card should add to its hint). `GET /` leads to the console.
 */
export async function registerConsole(app: ApiApp, options: ConsoleOptions): Promise<void> {
  const pages = new URL('./pages/', import.meta.url);
  const config = {
    temporalUiUrl: options.temporalUiUrl.replace(/\/+$/, ''),
    namespace: options.namespace,
    ...(options.signInHint ? { signInHint: options.signInHint } : {}),
  };

  const send = (reply: FastifyReply, type: string, body: string | Buffer) =>
    reply
      .header('content-type', type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', CSP)
      .send(body);

  for (const { url, file } of FILES) {
    // Read once at start-up: a missing file fails the start, not a request.
    const body = await readFile(new URL(file, pages));
    const type = TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream';
    app.get(url, { schema: { hide: true } }, (_request, reply) => send(reply, type, body));
  }
  // The API's own root is no resource: a browser that opens it wants the console.
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.redirect('/console', 302));
  for (const url of ['/console/', '/partner/']) {
    app.get(url, { schema: { hide: true } }, (_request, reply) => reply.redirect(url.slice(0, -1), 301));
  }
  app.get('/console/config', { schema: { hide: true } }, (_request, reply) => send(reply, 'application/json; charset=utf-8', JSON.stringify(config)));
}
