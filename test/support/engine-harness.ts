import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import { sha256Hex } from '../../api/auth.js';
import { ReferralService } from '../../api/referral-service.js';
import { buildApi, type ApiApp, type ApiDeps } from '../../api/server.js';
import { startActionsBridge } from '../../bridge/actions.js';
import { createDeadLetters } from '../../bridge/dead-letters.js';
import { startIntakeBridge } from '../../bridge/index.js';
import type { KeyRing } from '../../codec/aes-gcm-codec.js';
import { createDataConverter } from '../../codec/data-converter.js';
import type { Topics } from '../../config/env.js';
import type { ApiRole, Identity } from '../../config/identities.js';
import { createKafka, createPublisher, type Publisher } from '../../messaging/kafka.js';
import type { Policy } from '../../schemas/policy.js';
import { createLogger } from '../../workers/logger.js';
import { createReferralWorker, workflowsPath } from '../../workers/temporal-worker.js';
import { shippedPolicy } from './fixtures.js';
import { engineSecurity } from './test-kafka.js';
import { senderDirectory } from '../../bridge/senders.js';
import { loadKafkaAccess } from '../../config/kafka-access.js';
import { RecordingPublisher } from './recording-publisher.js';

/** For the Temporal SDK's own logger: its bundler and worker chatter would drown the test output. */
export const quietSdkLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

let referralBundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The referral workflows bundled once per test file: bundling takes seconds. */
export function referralWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  referralBundle ??= bundleWorkflowCode({ workflowsPath, logger: quietSdkLogger });
  return referralBundle;
}

/** The engine's topics under a prefix of their own, so that test runs never share a topic. */
export function prefixedTopics(prefix: string): Topics {
  return {
    intake: `${prefix}.intake`,
    actions: `${prefix}.actions`,
    deadLetter: `${prefix}.dead-letter`,
    events: `${prefix}.events`,
    notifyPrefix: `${prefix}.notify.`,
  };
}

/** Topics for a worker whose notifications go to an in-memory publisher: the names are never used on a broker. */
export const unusedTopics: Topics = { intake: 'i', actions: 'a', deadLetter: 'd', events: 'e', notifyPrefix: 'n.' };

export interface TestEngineOptions {
  temporalAddress: string;
  taskQueue: string;
  topics: Topics;
  /** Encrypts payloads (worker and client) and seals dead letters, as the engine does; without it, payloads are plain. */
  keyRing?: KeyRing;
  /**
   * The worker publishes to this broker, with Kafka client ids and bridge consumer groups named
   * `${run}-engine`, `${run}-intake` and `${run}-actions`; without it, to an in-memory RecordingPublisher.
   */
  kafka?: { brokers: string; run: string; connectPublisherFirst?: boolean };
  source?: string;
  logger?: Logger;
  /** Starts the intake bridge in this process (needs `kafka`). */
  intakeBridge?: { policy?: Policy };
  /** Starts the actions bridge in this process (needs `kafka`). */
  actionsBridge?: boolean;
  /** The bridges also consume the shared topics and trust the agency a message names (KAFKA_SHARED_TOPICS). */
  sharedTopics?: boolean;
}

/** A Temporal client and a referral worker in this process, and the bridges asked for. */
export interface TestEngine {
  connection: Connection;
  client: Client;
  publisher: Publisher;
  stop(): Promise<void>;
}

export async function startTestEngine(options: TestEngineOptions): Promise<TestEngine> {
  const { temporalAddress, taskQueue, topics, keyRing, kafka } = options;
  const logger = options.logger ?? createLogger({ level: 'warn' });
  const source = options.source ?? 'urn:referral-engine:test';
  const dataConverter = keyRing ? createDataConverter(keyRing) : undefined;
  const access = loadKafkaAccess();
  // Run in reverse on stop, and on a failure half-way, so that nothing started is left running.
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    while (stops.length > 0) await stops.pop()!();
  };
  try {
    const connection = await Connection.connect({ address: temporalAddress });
    stops.push(() => connection.close());
    const client = new Client({ connection, dataConverter });
    const nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    stops.push(() => nativeConnection.close());
    // Topics carry the run's prefix, which the ACL table does not name: the engine connects as the admin principal.
    const kafkaAs = (clientId: string) => createKafka({ brokers: [kafka!.brokers], clientId, logger, security: engineSecurity('admin') });
    const publisher: Publisher = kafka ? createPublisher(kafkaAs(`${kafka.run}-engine`)) : new RecordingPublisher();
    stops.push(() => publisher.disconnect());
    if (kafka?.connectPublisherFirst) await publisher.connect();
    const worker = await createReferralWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      activityDeps: { publisher, topics, source, partners: access.partners },
      workflowBundle: await referralWorkflowBundle(),
      dataConverter,
    });
    const workerRun = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await workerRun;
    });

    if (options.intakeBridge || options.actionsBridge) {
      if (!kafka) throw new Error('the bridges need a Kafka broker: pass `kafka`');
      const deadLetters = createDeadLetters(publisher, topics.deadLetter, logger, keyRing ? { seal: keyRing } : {});
      const senders = senderDirectory(access, topics, { sharedTopics: options.sharedTopics ?? false });
      if (options.intakeBridge) {
        const intake = await startIntakeBridge({
          kafka: kafkaAs(`${kafka.run}-intake`),
          client,
          logger,
          groupId: `${kafka.run}-intake`,
          senders,
          publisher,
          source,
          taskQueue,
          policy: options.intakeBridge.policy ?? shippedPolicy(),
          deadLetters,
        });
        stops.push(() => intake.stop());
      }
      if (options.actionsBridge) {
        const actions = await startActionsBridge({
          kafka: kafkaAs(`${kafka.run}-actions`),
          client,
          logger,
          groupId: `${kafka.run}-actions`,
          senders,
          publisher,
          source,
          deadLetters,
        });
        stops.push(() => actions.stop());
      }
    }
    return { connection, client, publisher, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** API identities with API keys derived from their ids, and the header that authenticates each. */
export function testIdentities(people: Array<{ id: string; agency: string; role: ApiRole; organisation?: string }>, keyPrefix: string) {
  const keyOf = (id: string) => `${keyPrefix}${id}`;
  const identities: Identity[] = people.map((p) => ({ ...p, keySha256: sha256Hex(keyOf(p.id)) }));
  const auth = (id: string) => ({ authorization: `Bearer ${keyOf(id)}` });
  return { keyOf, identities, auth };
}

export interface TestApiOptions extends Omit<ApiDeps, 'service' | 'rateLimitPerMinute'> {
  client: Client;
  taskQueue: string;
  temporalUiUrl?: string;
}

/** The HTTP API on the given client, rate limits out of the way. */
export async function startTestApi({ client, taskQueue, temporalUiUrl = 'http://127.0.0.1:18233', ...deps }: TestApiOptions): Promise<ApiApp> {
  const service = new ReferralService(client, { client, taskQueue, policy: shippedPolicy() }, { url: temporalUiUrl, namespace: 'default' });
  return buildApi({ ...deps, service, rateLimitPerMinute: 10_000 });
}

/** Listens on a free loopback port, for clients outside this process (a browser, the CLI); returns the base URL. */
export async function listenOnLoopback(app: ApiApp): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the API is not listening on a TCP port');
  return `http://127.0.0.1:${address.port}`;
}
