import { Client, Connection } from '@temporalio/client';
import { resolveTemporalConnection } from '../config/temporal-connection.js';
import type { DataConverter } from '@temporalio/common';
import type { Logger } from 'pino';
import { registerConsole } from '../api/console.js';
import { createEngineMetrics, registerMetricsRoute, watchTopics } from '../api/metrics.js';
import { ReferralService } from '../api/referral-service.js';
import { buildApi } from '../api/server.js';
import { createRemoteJWKSet } from 'jose';
import type { JwtSettings } from '../api/auth.js';
import { jwksFileKeys } from '../api/jwks-file.js';
import type { ApiJwtConfig, EngineConfig } from '../config/env.js';
import { loadIdentities } from '../config/identities.js';
import { createAdmin, type AdminOps, type KafkaConnection } from '../messaging/kafka.js';
import type { Policy } from '../schemas/policy.js';
import type { SenderDirectory } from '../bridge/senders.js';
import type { ExportAudit } from '../codec/audit.js';

/**
 * The API role of the engine process: HTTP API, operator console, partner page and /metrics.
 * Returns its stop function (the API stops first: no new requests while the rest drains).
 */
export async function startApi(
  config: EngineConfig,
  deps: { logger: Logger; kafka: KafkaConnection; policy: Policy; dataConverter: DataConverter; notifyTopics: string[]; senders: SenderDirectory; audit?: ExportAudit },
): Promise<() => Promise<void>> {
  const identities = await loadIdentities(config.api.identitiesFile);
  // A bad JWKS file stops the start, naming API_JWKS_FILE; a later bad version is logged and the last good keys stay.
  const jwt = tokenSettings(config.api.jwt, deps.senders.partners, deps.logger);
  const connection = await Connection.connect(resolveTemporalConnection(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter: deps.dataConverter });
  let admin: Promise<AdminOps> | undefined;
  const metrics = createEngineMetrics({
    client,
    admin: () => (admin ??= createAdmin(deps.kafka)),
    lagGroups: [
      ...deps.senders.intakeTopics.map((topic) => ({ groupId: config.kafka.intakeGroup, topic })),
      ...deps.senders.actionsTopics.map((topic) => ({ groupId: config.kafka.actionsGroup, topic })),
    ],
    deadLetterTopic: config.kafka.topics.deadLetter,
  });
  const watcher = await watchTopics(deps.kafka, deps.notifyTopics, config.kafka.topics.deadLetter, metrics, `${config.kafka.clientId}-metrics`);
  const service = new ReferralService(
    client,
    { client, taskQueue: config.temporal.taskQueue, policy: deps.policy },
    { url: config.temporal.uiUrl, namespace: config.temporal.namespace },
  );
  const app = await buildApi({
    service,
    auth: { identities, ...(jwt ? { jwt } : {}) },
    logger: deps.logger,
    rateLimitPerMinute: config.api.rateLimitPerMinute,
    ...(deps.policy.authority ? { authority: deps.policy.authority } : {}),
    onDenied: (route) => metrics.accessDenied.inc({ route }),
    exports: { minCell: config.api.exportMinCell, ...(deps.audit ? { audit: deps.audit } : {}) },
    plugins: [
      (app) =>
        registerConsole(app, {
          temporalUiUrl: config.temporal.uiUrl,
          namespace: config.temporal.namespace,
          ...(config.api.signInHint ? { signInHint: config.api.signInHint } : {}),
        }),
      (app) => registerMetricsRoute(app, metrics, deps.logger),
    ],
  });
  await app.listen({ host: config.api.host, port: config.api.port });
  deps.logger.info({ identities: identities.length, tokens: tokenSummary(config.api.jwt) }, `API on http://${config.api.host}:${config.api.port} (console /console, partners /partner, docs /docs)`);
  return async () => {
    await app.close();
    await watcher.stop();
    if (admin) await (await admin).disconnect();
    await connection.close();
  };
}

/** How the API verifies tokens: keys from the JWKS file or URL, HS256 only with the development switch. */
export function tokenSettings(config: ApiJwtConfig | undefined, partners: readonly string[], logger: Logger): JwtSettings | undefined {
  if (!config) return undefined;
  const log = logger.child({ component: 'api-tokens' });
  const keys = config.jwksFile
    ? jwksFileKeys(config.jwksFile, (message) => log.error(message)).getKey
    : config.jwksUrl
      ? createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000, timeoutDuration: 5_000 })
      : undefined;
  if (config.hs256DevSecret) log.warn('API_JWT_ALLOW_HS256: HS256 tokens with a shared secret are accepted (development only)');
  return {
    ...(keys ? { keys } : {}),
    ...(config.hs256DevSecret ? { hs256Secret: new TextEncoder().encode(config.hs256DevSecret) } : {}),
    issuer: config.issuer,
    audience: config.audience,
    ...(config.maxAgeSeconds !== undefined ? { maxAgeSeconds: config.maxAgeSeconds } : {}),
    clockToleranceSeconds: config.clockToleranceSeconds,
    knownOrganisations: partners,
  };
}

function tokenSummary(config: ApiJwtConfig | undefined): string {
  if (!config) return 'API keys only';
  const from = config.jwksFile ? `JWKS file ${config.jwksFile}` : config.jwksUrl ? `JWKS ${config.jwksUrl}` : 'no JWKS';
  return `${from}${config.hs256DevSecret ? ' + HS256 (development)' : ''}, iss ${config.issuer}, aud ${config.audience}`;
}
