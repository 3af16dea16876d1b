import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { AuthError, createAuthenticator, type AuthSettings, type Principal } from './auth.js';
import { apiError, errorHandler } from './errors.js';
import type { AuthorityPolicy } from '../schemas/policy.js';
import type { ReferralService } from './referral-service.js';
import { registerReferralRoutes } from './routes/referrals.js';
import { registerPartnerRoutes } from './routes/partner.js';
import { registerExportRoutes, type ExportDeps } from './routes/exports.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** Why the credentials were refused: answered with 401 once the rate limit has counted the request. */
    authFailure?: AuthError;
  }
}

/** Paths that need a caller: everything else (health, docs, console pages, metrics) is public. */
function needsCaller(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return path.startsWith('/referrals') || path.startsWith('/partner/tasks') || path.startsWith('/exports') || path === '/whoami';
}

/**
 * The rate-limit bucket of a request: the authenticated principal, or the remote address when
 * the credentials were missing or refused (a new junk token each time gets no new bucket).
 */
export function rateLimitKey(request: FastifyRequest): string {
  const p = request.principal;
  return p ? `principal:${p.agency}:${p.id}` : `address:${request.ip}`;
}

/**
 * /docs is a page of its own: scripts and styles from this origin only, no framing, no plugins.
 * The one inline style Swagger UI injects is allowed by its hash (without it the page still works).
 */
export const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";

export interface ApiDeps {
  service: ReferralService;
  auth: AuthSettings;
  logger: Logger;
  /** Requests per minute per identity. */
  rateLimitPerMinute?: number;
  bodyLimitBytes?: number;
  /** The policy's authority table: each action's route says who may act (OpenAPI). */
  authority?: AuthorityPolicy;
  /** Called on every 403, e.g. to count denials. */
  onDenied?: (route: string) => void;
  /** The HTCDS export's k and audit writer; absent: k 5 and no writer, so exports are answered 503. */
  exports?: Omit<ExportDeps, 'logger'>;
  /** Extra routes (console pages, metrics, codec) added by the composition root. */
  plugins?: Array<(app: ApiApp) => Promise<void> | void>;
}

/** The app as routes see it: zod-typed routes. */
export type ApiApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

/**
 * A refusal, recorded and counted. `as: 'not-found'` answers it as the 404 of a referral that
 * does not exist (same body), so a caller who may not see a referral cannot learn it exists.
 */
export type Deny = (request: FastifyRequest, reply: FastifyReply, reason: string, as?: { notFound: () => unknown }) => FastifyReply;

/**
 * The HTTP API: the same paths into the engine as Kafka (start, updates), with agency access
 * control. OpenAPI is generated from the zod schemas of the routes and served at /docs.
 */
export async function buildApi(deps: ApiDeps): Promise<ApiApp> {
  const app = Fastify({
    // Warnings and errors only: a line per request would drown the denials and failures that matter.
    loggerInstance: deps.logger.child({ component: 'api' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes ?? 256 * 1024,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => reply.status(404).send(apiError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)));

  await app.register(swagger, {
    openapi: {
      info: { title: 'referral-engine API', version: '1', description: 'Referrals of trafficking, smuggling and fraudulent-job-advertisement cases between agencies.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key or signed token' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });

  const authenticate = createAuthenticator(deps.auth);
  await app.register(rateLimit, {
    max: deps.rateLimitPerMinute ?? 600,
    timeWindow: '1 minute',
    // Runs after the authentication hook below (route hooks follow the app's): keyed by who called.
    keyGenerator: rateLimitKey,
    allowList: (request) => !needsCaller(request.url),
  });

  const deny: Deny = (request, reply, reason, as) => {
    // Every denial is recorded: who, what, why.
    request.log.warn({ principal: request.principal?.id, agency: request.principal?.agency, method: request.method, route: request.routeOptions.url, reason }, 'access denied');
    deps.onDenied?.(request.routeOptions.url ?? 'unknown');
    if (as) return reply.status(404).send(as.notFound());
    return reply.status(403).send(apiError('FORBIDDEN', reason));
  };

  // Authenticates before the rate limit (a route-level onRequest hook) so that it can key by principal;
  // a refusal is answered after it has been counted against the caller's address.
  app.addHook('onRequest', async (request) => {
    if (!needsCaller(request.url)) return;
    try {
      request.principal = await authenticate(request.headers);
    } catch (err) {
      if (err instanceof AuthError) request.authFailure = err;
      else throw err;
    }
  });
  app.addHook('preParsing', (request, reply, payload, done) => {
    const err = request.authFailure;
    // Answered here, the request goes no further (done is not called).
    if (err) void reply.status(err.status).send(apiError(err.code, err.message, 'authorization'));
    else done(null, payload);
  });

  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/whoami', { schema: { hide: true } }, async (request) => request.principal);
  registerReferralRoutes(app, deps.service, deny, deps.authority);
  registerPartnerRoutes(app, deps.service, deny);
  registerExportRoutes(app, deps.service, deny, { minCell: 5, ...deps.exports, logger: deps.logger });
  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}
