import { Kafka, Partitioners, logLevel as KafkaLogLevel, type Admin, type Consumer, type IHeaders, type KafkaConfig, type LogEntry, type PartitionMetadata, type Producer, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { runInKeyedLanes } from './keyed-lanes.js';
import type { InboundRecord, OutboundRecord } from './records.js';

/**
 * The engine's only door to kafkajs. Everything else speaks InboundRecord / OutboundRecord,
 * so a change of client library touches this file alone.
 */
export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** How this client proves who it is and checks the broker; absent: plaintext, no authentication. */
  security?: KafkaSecurity;
}

/**
 * One client's connection security: SASL (SCRAM or PLAIN) over TLS, mutual TLS (a client
 * certificate), or, behind an explicit development switch, plaintext. PEM strings, not paths:
 * config/kafka-security.ts reads the files and names a bad one.
 */
export interface KafkaSecurity {
  protocol: 'SASL_SSL' | 'SSL' | 'SASL_PLAINTEXT' | 'PLAINTEXT';
  sasl?: { mechanism: 'scram-sha-512' | 'scram-sha-256' | 'plain'; username: string; password: string };
  tls?: { ca?: string; cert?: string; key?: string; servername?: string };
}

function kafkajsSecurity(security: KafkaSecurity | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  if (!security || security.protocol === 'PLAINTEXT') return {};
  const tlsOn = security.protocol === 'SASL_SSL' || security.protocol === 'SSL';
  const t = security.tls ?? {};
  const ssl = tlsOn
    ? {
        rejectUnauthorized: true,
        ...(t.ca ? { ca: [t.ca] } : {}),
        ...(t.cert ? { cert: t.cert } : {}),
        ...(t.key ? { key: t.key } : {}),
        ...(t.servername ? { servername: t.servername } : {}),
      }
    : undefined;
  const saslOn = security.protocol === 'SASL_SSL' || security.protocol === 'SASL_PLAINTEXT';
  if (saslOn && !security.sasl) throw new Error(`Kafka security protocol ${security.protocol} needs a SASL username and password`);
  return {
    ...(ssl ? { ssl } : {}),
    ...(saslOn && security.sasl ? { sasl: { mechanism: security.sasl.mechanism, username: security.sasl.username, password: security.sasl.password } as SASLOptions } : {}),
  };
}

const KNOWN_NOTICES = ['KafkaJS v2.0.0 switched default partitioner', 'Limiting retries for the idempotent producer'];

/**
 * Broker answers that kafkajs retries by itself and that every healthy first start meets while the
 * broker loads its group and transaction coordinators (`__consumer_offsets` being created).
 */
const COORDINATOR_STARTING = ['The coordinator is loading', 'The group coordinator is not available', 'This is not the correct coordinator'];
/** How long they may go on before they are an error: longer than a first start takes on a busy machine. */
export const COORDINATOR_GRACE_MS = 60_000;

/**
 * Whether a coordinator answer is still within its grace: the first of a run of them starts the
 * clock; a quiet minute ends the run. Past the grace, every further one is logged as an error.
 */
export function coordinatorGrace(graceMs = COORDINATOR_GRACE_MS, now: () => number = Date.now) {
  let firstAt: number | undefined;
  let lastAt = 0;
  return (error: unknown): 'quiet' | 'error' | 'other' => {
    if (typeof error !== 'string' || !COORDINATOR_STARTING.some((e) => error.startsWith(e))) return 'other';
    const t = now();
    if (firstAt === undefined || t - lastAt > graceMs) firstAt = t;
    lastAt = t;
    return t - firstAt <= graceMs ? 'quiet' : 'error';
  };
}

export interface KafkaConnection {
  kafka: Kafka;
}

export function createKafka(settings: KafkaSettings): KafkaConnection {
  const log = settings.logger.child({ component: 'kafkajs' });
  const coordinator = coordinatorGrace();
  const kafka = new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    ...kafkajsSecurity(settings.security),
    connectionTimeout: 3_000,
    retry: { initialRetryTime: 200, retries: 8 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      const fields = { namespace: entry.namespace, ...extra };
      // kafkajs warns on every start about choices made here on purpose (see createPublisher).
      if (entry.level === KafkaLogLevel.WARN && KNOWN_NOTICES.some((n) => message.startsWith(n))) log.debug(fields, message);
      else if (entry.level <= KafkaLogLevel.ERROR && coordinator(extra['error']) === 'quiet') log.debug(fields, `${message} (coordinator starting: retried)`);
      else if (entry.level <= KafkaLogLevel.ERROR) log.error(fields, message);
      else if (entry.level === KafkaLogLevel.WARN) log.warn(fields, message);
      else log.debug(fields, message);
    },
  });
  return { kafka };
}

export interface Publisher {
  connect(): Promise<void>;
  /** Sends records and resolves once the broker acknowledged all of them (acks=-1). */
  publish(records: OutboundRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** Publishes carried by one produce request at most (a notification is ~1 KB; Kafka's request limit is 1 MB). */
const MAX_PUBLISHES_PER_REQUEST = 100;

/**
 * Idempotent producer: a retried send never writes a record twice within the producer session.
 *
 * Sends go one at a time (publishes that wait meanwhile share the next request), and a send that
 * failed ends the producer session: the next send uses a new producer (a new producer id). kafkajs rolls a partition's sequence number back when a
 * produce request fails, though the broker may have written the batch (the broker went away
 * before answering); a later batch with other records and the rolled-back sequence would then be
 * taken by the broker for a duplicate and silently dropped. A new session cannot collide with
 * the old one's sequences: what the failed send did write is written again (a duplicate by event
 * id, which consumers drop), and nothing is lost. One send at a time, so that no other send takes
 * a rolled-back sequence before the session is replaced.
 */
export function createPublisher({ kafka }: KafkaConnection): Publisher {
  // Retries are bounded: an activity that fails is retried by Temporal with the same event ids,
  // so a duplicate that slips through is dropped by consumers.
  const newProducer = (): Producer =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  let producer: Producer = newProducer();
  let connected: Promise<void> | undefined;
  /** The tail of the send queue. */
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };
  /** Drops the current session; the next send connects a new producer. */
  const endSession = (failed: Producer) => {
    if (producer !== failed) return;
    producer = newProducer();
    connected = undefined;
    failed.disconnect().catch(() => undefined);
  };
  const connect = (): Promise<void> => {
    const current = producer;
    // A failed connect is forgotten, so the next publish (a retried activity) connects again.
    connected ??= current.connect().catch((err: unknown) => {
      endSession(current);
      throw err;
    });
    return connected;
  };
  /**
   * Publishes waiting for the send in progress. They go together in the next request: under load
   * one request carries many activities' records (fewer round trips, less broker work), and
   * sends still go one at a time. A failed request fails every publish in it (each is retried).
   */
  let waiting: Array<{ records: OutboundRecord[]; resolve: () => void; reject: (err: unknown) => void }> = [];
  /**
   * kafkajs 2.2.4 can resolve a sendBatch that did not write everything: when the request to one
   * broker fails (the broker died) it retries only to the brokers that have not answered yet, so a
   * partition of the failed request whose leadership moved to a broker that already answered for its
   * own partitions is never sent again (seen with a node of three killed: a notification missing,
   * its activity completed). So each record's partition is chosen here, as the default partitioner
   * would (by key, over the topic's partition count), and a send counts only when every partition
   * it wrote to is among the acknowledgements; otherwise it fails like any other send.
   */
  const partitioner = Partitioners.DefaultPartitioner();
  let admin: { client: Admin; connected: Promise<void> } | undefined;
  const partitions = new Map<string, Promise<PartitionMetadata[]>>();
  const partitionsOf = (topic: string): Promise<PartitionMetadata[]> => {
    let known = partitions.get(topic);
    if (!known) {
      known = (async () => {
        if (!admin) {
          const client = kafka.admin();
          admin = { client, connected: client.connect() };
          admin.connected.catch(() => (admin = undefined));
        }
        await admin.connected;
        const { topics } = await admin.client.fetchTopicMetadata({ topics: [topic] });
        const found = topics.find((t) => t.name === topic)?.partitions ?? [];
        if (found.length === 0) throw new Error(`kafka: no partitions known for topic ${topic}`);
        return found;
      })();
      // A failed lookup is forgotten: the retried publish asks again.
      known.catch(() => partitions.delete(topic));
      partitions.set(topic, known);
    }
    return known;
  };
  /** One produce request; a failure ends the session (see above). */
  const send = async (records: OutboundRecord[]): Promise<void> => {
    await connect();
    const current = producer;
    const byTopic = new Map<string, OutboundRecord[]>();
    for (const r of records) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
    try {
      const written = new Set<string>();
      const topicMessages = await Promise.all(
        [...byTopic].map(async ([topic, rs]) => {
          const partitionMetadata = await partitionsOf(topic);
          return {
            topic,
            messages: rs.map((r) => {
              const message = { key: r.key, value: r.value, headers: r.headers };
              const partition = partitioner({ topic, partitionMetadata, message });
              written.add(`${topic}/${partition}`);
              return { ...message, partition };
            }),
          };
        }),
      );
      const acknowledged = await current.sendBatch({ acks: -1, topicMessages });
      const answered = new Set(acknowledged.filter((a) => a.errorCode === 0).map((a) => `${a.topicName}/${a.partition}`));
      const missing = [...written].filter((tp) => !answered.has(tp));
      if (missing.length > 0) throw new Error(`kafka: the send was not acknowledged for ${missing.join(', ')}`);
    } catch (err) {
      endSession(current);
      throw err;
    }
  };
  const sendWaiting = async (): Promise<void> => {
    const group = waiting.slice(0, MAX_PUBLISHES_PER_REQUEST);
    waiting = waiting.slice(group.length);
    if (waiting.length > 0) void serially(sendWaiting);
    await send(group.flatMap((p) => p.records)).then(
      () => group.forEach((p) => p.resolve()),
      (err: unknown) => group.forEach((p) => p.reject(err)),
    );
  };
  return {
    connect,
    publish(records) {
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiting.push({ records, resolve, reject });
        // The first publish to wait books the next request; later ones ride along with it.
        if (waiting.length === 1) void serially(sendWaiting);
      });
    },
    disconnect() {
      return serially(async () => {
        if (connected) await producer.disconnect();
        connected = undefined;
        const a = admin;
        admin = undefined;
        if (a) await a.connected.then(() => a.client.disconnect()).catch(() => undefined);
        partitions.clear();
      });
    },
  };
}

export interface RecordContext {
  /** Keeps the group membership alive while a record takes long (retries with backoff). */
  heartbeat(): Promise<void>;
  /** True once stop() was called: a handler should abandon retries, leaving the offset uncommitted. */
  isStopping(): boolean;
}

export interface ConsumerRun {
  stop(): Promise<void>;
}

export interface ConsumeOptions {
  groupId: string;
  /** Topic names, or a pattern (every agency's notification topic, say). */
  topics: Array<string | RegExp>;
  fromBeginning?: boolean;
  /** Partitions handled at once: one slow partition does not hold up the others. */
  concurrency?: number;
  /**
   * Records of one partition handled at once (default 1: strictly in order). Records with the
   * same key are still handled one after another, in order (messaging/keyed-lanes.ts).
   */
  recordsInFlight?: number;
  /**
   * Handles one record. Resolving lets its offset be committed (once every earlier record of
   * the partition is done too); throwing leaves it uncommitted: it and the records after it are
   * delivered again.
   */
  handle(record: InboundRecord, ctx: RecordContext): Promise<void>;
}

/**
 * Commits a partition's position, one commit at a time: positions asked for while a commit is
 * under way are folded into the next one, so a burst of finished records costs a few commits.
 */
function partitionCommitter(consumer: Consumer, topic: string, partition: number) {
  let wanted: bigint | undefined;
  let committed: bigint | undefined;
  let running: Promise<void> | undefined;
  let failure: unknown;
  const loop = async () => {
    while (wanted !== undefined && wanted !== committed) {
      const offset = wanted;
      try {
        await consumer.commitOffsets([{ topic, partition, offset: offset.toString() }]);
        committed = offset;
      } catch (err) {
        // Not committed: the records are delivered again (handlers are idempotent).
        failure = err;
        return;
      }
    }
  };
  return {
    request(offset: string) {
      wanted = BigInt(offset);
      running ??= loop().finally(() => (running = undefined));
    },
    /** Waits for the last position asked for; throws if a commit failed. */
    async flush() {
      while (running) await running;
      if (failure !== undefined) throw failure;
    },
  };
}

/** A consumer group that commits an offset only after its record and every one before it are done. */
export async function consume({ kafka }: KafkaConnection, options: ConsumeOptions): Promise<ConsumerRun> {
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    allowAutoTopicCreation: false,
    retry: { initialRetryTime: 300, retries: 10 },
  });
  let stopping = false;
  await consumer.connect();
  await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.concurrency ?? 3,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (stopping) throw new Error('consumer is stopping');
      const { topic, partition } = batch;
      const committer = partitionCommitter(consumer, topic, partition);
      const ctx: RecordContext = { heartbeat, isStopping: () => stopping };
      let failure: { error: unknown } | undefined;
      try {
        await runInKeyedLanes({
          records: batch.messages,
          inFlight: options.recordsInFlight ?? 1,
          mayStart: () => !stopping && isRunning() && !isStale(),
          handle: (message) =>
            options.handle({ topic, partition, offset: message.offset, key: message.key, value: message.value, headers: flattenHeaders(message.headers) }, ctx),
          onDone: (nextOffset) => {
            // The consumer's in-memory position: a retried batch starts after the finished run.
            resolveOffset((BigInt(nextOffset) - 1n).toString());
            committer.request(nextOffset);
          },
        });
      } catch (error) {
        failure = { error };
      }
      // Whatever happened, the finished run is committed first; then a failure is redelivered.
      await committer.flush().catch((error: unknown) => (failure ??= { error }));
      if (failure) throw failure.error;
      await heartbeat();
    },
  });
  return {
    async stop() {
      stopping = true;
      await consumer.disconnect();
    },
  };
}

function flattenHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

export interface AdminOps {
  createTopics(topics: string[], partitions?: number): Promise<void>;
  /** How far a consumer group is behind the end of each partition of a topic. */
  consumerLag(groupId: string, topic: string): Promise<PartitionLag[]>;
  disconnect(): Promise<void>;
}

export async function createAdmin({ kafka }: KafkaConnection): Promise<AdminOps> {
  const admin = kafka.admin();
  await admin.connect();
  return {
    async createTopics(topics, partitions = 3) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      });
    },
    async consumerLag(groupId, topic) {
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset === '-1' ? '0' : p.offset)]));
      return ends.map((end) => ({
        topic,
        partition: end.partition,
        lag: Number(BigInt(end.high) - (done.get(end.partition) ?? BigInt(end.low))),
      }));
    },
    disconnect: () => admin.disconnect(),
  };
}
