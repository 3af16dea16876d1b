import { Client, Connection } from '@temporalio/client';
import { resolveTemporalConnection } from '../config/temporal-connection.js';
import type { DataConverter } from '@temporalio/common';
import type { Logger } from 'pino';
import { registerConsole } from '../api/console.js';
import { createEngineMetrics, registerMetricsRoute, watchTopics } from '../api/metrics.js';
import { ReferralService } from '../api/referral-service.js';
import { buildApi } from '../api/server.js';
import type { EngineConfig } from '../config/env.js';
import { loadIdentities } from '../config/identities.js';
import { createAdmin, type AdminOps, type KafkaConnection } from '../messaging/kafka.js';
import type { Policy } from '../schemas/policy.js';
import type { SenderDirectory } from '../bridge/senders.js';

/**
 * The API role of the engine process: HTTP API, operator console, partner page and /metrics.
 * Returns its stop function (the API stops first: no new requests while the rest drains).
 */
export async function startApi(
  config: EngineConfig,
  deps: { logger: Logger; kafka: KafkaConnection; policy: Policy; dataConverter: DataConverter; notifyTopics: string[]; senders: SenderDirectory },
): Promise<() => Promise<void>> {
  const identities = await loadIdentities(config.api.identitiesFile);
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
    auth: {
      identities,
      ...(config.api.jwtSecret ? { jwtSecret: new TextEncoder().encode(config.api.jwtSecret) } : {}),
      ...(config.api.jwtIssuer ? { jwtIssuer: config.api.jwtIssuer } : {}),
    },
    logger: deps.logger,
    rateLimitPerMinute: config.api.rateLimitPerMinute,
    onDenied: (route) => metrics.accessDenied.inc({ route }),
    plugins: [
      (app) => registerConsole(app, { temporalUiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace }),
      (app) => registerMetricsRoute(app, metrics, deps.logger),
    ],
  });
  await app.listen({ host: config.api.host, port: config.api.port });
  deps.logger.info({ identities: identities.length }, `API on http://${config.api.host}:${config.api.port} (console /console, partners /partner, docs /docs)`);
  return async () => {
    await app.close();
    await watcher.stop();
    if (admin) await (await admin).disconnect();
    await connection.close();
  };
}
