import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { AuthError, createAuthenticator, sha256Hex, type AuthSettings, type Principal } from './auth.js';
import { apiError, errorHandler } from './errors.js';
import type { ReferralService } from './referral-service.js';
import { registerReferralRoutes } from './routes/referrals.js';
import { registerPartnerRoutes } from './routes/partner.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface ApiDeps {
  service: ReferralService;
  auth: AuthSettings;
  logger: Logger;
  /** Requests per minute per identity. */
  rateLimitPerMinute?: number;
  bodyLimitBytes?: number;
  /** Called on every 403, e.g. to count denials. */
  onDenied?: (route: string) => void;
  /** Extra routes (console pages, metrics, codec) added by the composition root. */
  plugins?: Array<(app: ApiApp) => Promise<void> | void>;
}

/** The app as routes see it: zod-typed routes. */
export type ApiApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

export type Deny = (request: FastifyRequest, reply: FastifyReply, reason: string) => FastifyReply;

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
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const authenticate = createAuthenticator(deps.auth);
  await app.register(rateLimit, {
    max: deps.rateLimitPerMinute ?? 600,
    timeWindow: '1 minute',
    // Per identity: the credential's hash (not the credential) keys the bucket.
    keyGenerator: (request) => {
      const auth = request.headers['authorization'] ?? request.headers['x-api-key'];
      return auth ? sha256Hex(String(auth)) : request.ip;
    },
    allowList: (request) => !request.url.startsWith('/referrals') && !request.url.startsWith('/partner/tasks'),
  });

  const deny: Deny = (request, reply, reason) => {
    // Every denial is recorded: who, what, why.
    request.log.warn({ principal: request.principal?.id, agency: request.principal?.agency, method: request.method, route: request.routeOptions.url, reason }, 'access denied');
    deps.onDenied?.(request.routeOptions.url ?? 'unknown');
    return reply.status(403).send(apiError('FORBIDDEN', reason));
  };

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (!path.startsWith('/referrals') && !path.startsWith('/partner/tasks') && path !== '/whoami') return;
    try {
      request.principal = await authenticate(request.headers);
    } catch (err) {
      if (err instanceof AuthError) return reply.status(401).send(apiError(err.code, err.message, 'authorization'));
      throw err;
    }
  });

  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/whoami', { schema: { hide: true } }, async (request) => request.principal);
  registerReferralRoutes(app, deps.service, deny);
  registerPartnerRoutes(app, deps.service, deny);
  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}
