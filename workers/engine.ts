import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { loadEngineConfig } from '../config/env.js';
import { ConfigError } from '../config/errors.js';
import { loadPolicy } from '../config/policy.js';
import { startIntakeBridge } from '../bridge/index.js';
import { startActionsBridge } from '../bridge/actions.js';
import { createDeadLetters } from '../bridge/dead-letters.js';
import { createKafka, createPublisher } from '../messaging/kafka.js';
import { createLogger } from './logger.js';
import { createReferralWorker, workflowsPath } from './temporal-worker.js';
import { AesGcmCodec } from '../codec/aes-gcm-codec.js';
import { createDataConverter } from '../codec/data-converter.js';
import { loadKeyRing } from '../codec/keys.js';
import { startCodecServer } from '../codec/server.js';
import { startApi } from './api.js';

/**
 * Composition root of the engine process: config, logger, clients, then the Temporal worker and
 * the Kafka intake and actions bridges and the codec server (ENGINE_ROLES picks which). Stops gracefully on SIGINT/SIGTERM.
 */
async function main(): Promise<void> {
  const config = loadEngineConfig();
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

  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, logger });
  const publisher = createPublisher(kafka);
  await publisher.connect();
  const stops: Array<() => Promise<void>> = [];

  if (config.roles.includes('bridge')) {
    // Dead letters keep the original bytes (an invalid intake keeps its persons): sealed with the payload key.
    const deadLetters = createDeadLetters(publisher, config.kafka.topics.deadLetter, logger, { seal: keyRing });
    const connection = await Connection.connect({ address: config.temporal.address });
    const client = new Client({ connection, namespace: config.temporal.namespace, dataConverter });
    const bridge = await startIntakeBridge({
      kafka,
      client,
      logger,
      groupId: config.kafka.intakeGroup,
      intakeTopic: config.kafka.topics.intake,
      taskQueue: config.temporal.taskQueue,
      policy,
      deadLetters,
    });
    // Agencies' actions (`referral.action.*.v1`) become workflow updates; answers go to their topics.
    const actions = await startActionsBridge({
      kafka,
      client,
      logger,
      groupId: config.kafka.actionsGroup,
      actionsTopic: config.kafka.topics.actions,
      topics: config.kafka.topics,
      publisher,
      source: `referral-engine/${config.temporal.namespace}`,
      deadLetters,
    });
    stops.push(async () => {
      await Promise.all([bridge.stop(), actions.stop()]);
      await connection.close();
    });
  }

  if (config.roles.includes('worker')) {
    const connection = await NativeConnection.connect({ address: config.temporal.address });
    const worker = await createReferralWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      activityDeps: { publisher, topics: config.kafka.topics, source: `referral-engine/${config.temporal.namespace}` },
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

  if (config.roles.includes('codec')) {
    if (config.codecServer.port === 0) {
      logger.info('codec server disabled (CODEC_SERVER_PORT=0)');
    } else {
      const codecServer = await startCodecServer({
        codec: new AesGcmCodec(keyRing),
        host: config.codecServer.host,
        port: config.codecServer.port,
        uiOrigin: config.codecServer.uiOrigin,
        authTokenDigests: config.codecServer.authTokenDigests,
        logger,
      });
      stops.push(() => codecServer.close());
    }
  }

  if (config.roles.includes('api')) stops.unshift(await startApi(config, { logger, kafka, policy, dataConverter }));

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
    await publisher.disconnect();
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
