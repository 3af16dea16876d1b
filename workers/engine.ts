import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { loadEngineConfig } from '../config/env.js';
import { ConfigError } from '../config/errors.js';
import { resolveTemporalConnection } from '../config/temporal-connection.js';
import { loadPolicy } from '../config/policy.js';
import { startIntakeBridge } from '../bridge/index.js';
import { startActionsBridge } from '../bridge/actions.js';
import { createDeadLetters } from '../bridge/dead-letters.js';
import { createKafka, createPublisher, type Publisher } from '../messaging/kafka.js';
import { allNotifyTopics, committeeTopics, loadKafkaAccess } from '../config/kafka-access.js';
import { resolveKafkaSecurity } from '../config/kafka-security.js';
import type { KafkaClientName } from '../config/env.js';
import { senderDirectory } from '../bridge/senders.js';
import { createLogger } from './logger.js';
import { createReferralWorker, workflowsPath } from './temporal-worker.js';
import { AesGcmCodec } from '../codec/aes-gcm-codec.js';
import { createDataConverter } from '../codec/data-converter.js';
import { loadKeyRing } from '../codec/keys.js';
import { startCodecServer } from '../codec/server.js';
import { createCodecAudit } from '../codec/audit.js';
import { createDecodePolicy, temporalPartiesLookup } from '../codec/decode-policy.js';
import { createAuthenticator } from '../api/auth.js';
import { loadIdentities } from '../config/identities.js';
import { startApi, tokenSettings } from './api.js';

/**
 * Composition root of the engine process: config, logger, clients, then the Temporal worker and
 * the Kafka intake and actions bridges and the codec server (ENGINE_ROLES picks which). Stops gracefully on SIGINT/SIGTERM.
 */
async function main(): Promise<void> {
  const config = loadEngineConfig();
  // TLS files and the API key read now: an unreadable one is named before anything connects.
  const temporalConnection = resolveTemporalConnection(config.temporal);
  const logger = createLogger({ level: config.logLevel, pretty: config.logPretty });
  const policy = await loadPolicy(config.policyFile);
  // Every payload the engine writes to Temporal is encrypted (victims' data is in the input).
  const keyRing = loadKeyRing(config.payloadKeys);
  const dataConverter = createDataConverter(keyRing);
  Runtime.install({
    logger: {
      log: (level, message, meta) => logger[level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error')]({ component: 'temporal', ...meta }, message),
      trace: (m, meta) => logger.trace(meta, m),
      debug: (m, meta) => logger.debug(meta, m),
      info: (m, meta) => logger.info(meta, m),
      warn: (m, meta) => logger.warn(meta, m),
      error: (m, meta) => logger.error(meta, m),
    },
    // The engine owns shutdown order (bridge first, then worker): the SDK must not act on signals itself.
    shutdownSignals: [],
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      // Temporal SDK metrics (task latencies, slots, sticky cache) for Prometheus.
      ...(config.workerMetricsAddress && config.roles.includes('worker') ? { metrics: { prometheus: { bindAddress: config.workerMetricsAddress } } } : {}),
    },
  });

  // Each part of the engine is its own principal on the broker, allowed only what it needs
  // (config/kafka-access.ts); the topic an agency writes to says which agency acts.
  const access = loadKafkaAccess(config.kafka.accessFile);
  const senders = senderDirectory(access, config.kafka.topics, { sharedTopics: config.kafka.sharedTopics });
  const codecServerOn = config.roles.includes('codec') && config.codecServer.port !== 0;
  // The codec server's decodes and the API's exports are audited, as the audit principal.
  const auditOn = codecServerOn || config.roles.includes('api');
  const clients: KafkaClientName[] = [
    ...(config.roles.includes('worker') ? (['publisher'] as const) : []),
    ...(config.roles.includes('bridge') ? (['intake', 'actions'] as const) : []),
    ...(config.roles.includes('api') ? (['monitor'] as const) : []),
    // The codec server and the API's exports write their audit records as a principal of their own.
    ...(auditOn ? (['audit'] as const) : []),
  ];
  const security = resolveKafkaSecurity(config.kafka.security, access, clients);
  const kafkaAs = (name: KafkaClientName) =>
    createKafka({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-${name}`, logger, security: security[name] });
  if (config.kafka.sharedTopics) {
    logger.warn({ intake: config.kafka.topics.intake, actions: config.kafka.topics.actions }, 'KAFKA_SHARED_TOPICS: the shared topics are consumed too, and the agency their messages name is trusted');
  }
  const stops: Array<() => Promise<void>> = [];
  const publishers: Publisher[] = [];
  const source = `referral-engine/${config.temporal.namespace}`;

  if (config.roles.includes('bridge')) {
    const connection = await Connection.connect(temporalConnection);
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
    // Dead letters keep the original bytes (an invalid intake keeps its persons): sealed with the payload key.
    const intakeKafka = kafkaAs('intake');
    const intakePublisher = createPublisher(intakeKafka);
    publishers.push(intakePublisher);
    const bridge = await startIntakeBridge({
      kafka: intakeKafka,
      client,
      logger,
      groupId: config.kafka.intakeGroup,
      senders,
      publisher: intakePublisher,
      source,
      taskQueue: config.temporal.taskQueue,
      policy,
      deadLetters: createDeadLetters(intakePublisher, config.kafka.topics.deadLetter, logger, { seal: keyRing }),
    });
    // Agencies' actions (`referral.action.*.v1`) become workflow updates; answers go to their topics.
    const actionsKafka = kafkaAs('actions');
    const actionsPublisher = createPublisher(actionsKafka);
    publishers.push(actionsPublisher);
    const actions = await startActionsBridge({
      kafka: actionsKafka,
      client,
      logger,
      groupId: config.kafka.actionsGroup,
      senders,
      publisher: actionsPublisher,
      source,
      deadLetters: createDeadLetters(actionsPublisher, config.kafka.topics.deadLetter, logger, { seal: keyRing }),
    });
    stops.push(async () => {
      await Promise.all([bridge.stop(), actions.stop()]);
      await connection.close();
    });
  }

  if (config.roles.includes('worker')) {
    const publisher = createPublisher(kafkaAs('publisher'));
    publishers.push(publisher);
    await publisher.connect();
    const connection = await NativeConnection.connect(temporalConnection);
    const worker = await createReferralWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      activityDeps: { publisher, topics: config.kafka.topics, source, partners: access.partners, committeeJurisdictionTopics: new Set(committeeTopics(access, config.kafka.topics)) },
      dataConverter,
      maxCachedWorkflows: config.workerMaxCachedWorkflows,
      ...(config.workerWorkflowBundle ? { workflowBundle: { codePath: config.workerWorkflowBundle } } : {}),
    });
    logger.info(
      config.workerWorkflowBundle ? { workflowBundle: config.workerWorkflowBundle } : { workflowsPath },
      config.workerWorkflowBundle ? 'worker: workflows from a prebuilt bundle' : 'worker: workflows bundled from source',
    );
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
      await connection.close();
    });
  }

  let audit: ReturnType<typeof createCodecAudit> | undefined;
  if (auditOn) {
    const auditPublisher = createPublisher(kafkaAs('audit'));
    publishers.push(auditPublisher);
    await auditPublisher.connect();
    audit = createCodecAudit({ publisher: auditPublisher, topic: config.kafka.topics.audit, source: `${source}/codec-server`, exportSource: `${source}/api` });
  }

  if (config.roles.includes('codec') && !codecServerOn) logger.info('codec server disabled (CODEC_SERVER_PORT=0)');
  if (codecServerOn) {
    // The API's identities and token settings: whoever may call the API is who the codec server knows.
    const identities = await loadIdentities(config.api.identitiesFile);
    const jwt = tokenSettings(config.api.jwt, senders.partners, logger);
    // Reads the referrals' Parties search attribute (describe), nothing else.
    const connection = await Connection.connect(temporalConnection);
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
    const codecServer = await startCodecServer({
      codec: new AesGcmCodec(keyRing),
      host: config.codecServer.host,
      port: config.codecServer.port,
      uiOrigin: config.codecServer.uiOrigin,
      authenticate: createAuthenticator({ identities, ...(jwt ? { jwt } : {}) }),
      policy: createDecodePolicy({ lookupParties: temporalPartiesLookup(client), namespace: config.temporal.namespace }),
      audit: audit!,
      sessionTtlMs: config.codecServer.sessionTtlSeconds * 1000,
      logger,
    });
    stops.push(async () => {
      await codecServer.close();
      await connection.close();
    });
  }

  if (config.roles.includes('api')) stops.unshift(await startApi(config, { logger, kafka: kafkaAs('monitor'), policy, dataConverter, notifyTopics: allNotifyTopics(access, config.kafka.topics), senders, ...(audit ? { audit } : {}) }));

  logger.info(
    { roles: config.roles, taskQueue: config.temporal.taskQueue, policyVersion: policy.version, payloadKeyId: keyRing.activeKeyId },
    `referral-engine running; Temporal UI: ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ graceMs: config.shutdownGraceMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    for (const stop of stops) await stop().catch((err: Error) => logger.error({ err: { message: err.message } }, 'stop failed'));
    await Promise.all(publishers.map((p) => p.disconnect()));
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`referral-engine: ${err.message}`);
    process.exit(2);
  }
  console.error('referral-engine: failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
