import { connect as tcpConnect } from 'node:net';
import { pino, type Logger } from 'pino';
import { DLQ_HEADERS } from '../bridge/dead-letters.js';
import { KEY_ID_PATTERN, PayloadEncryptionError, type KeyRing } from '../codec/aes-gcm-codec.js';
import { loadKeyRing } from '../codec/keys.js';
import { unseal, unsealHeaders } from '../codec/seal.js';
import { loadEngineConfig, type EngineConfig } from '../config/env.js';
import { ConfigError } from '../config/errors.js';
import { loadKafkaAccess } from '../config/kafka-access.js';
import { resolveKafkaSecurity } from '../config/kafka-security.js';
import { createKafka, createPublisher, type KafkaConnection, type Publisher } from '../messaging/kafka.js';
import { redactPaths } from '../workers/logger.js';
import { parseCommand, positionals, wholeNumber } from './args.js';
import { CliError, EXIT, UsageError, type ExitCode } from './errors.js';
import { commandHelp } from './help.js';
import type { Io } from './io.js';

/** The consumer group whose committed offsets remember how far re-driving has got. */
export const REDRIVE_GROUP = 'referral-engine-redrive';

const PROGRESS_EVERY = 100;
/** After the group has joined, how long to wait for a record the topic is known to hold. */
const IDLE_LIMIT_MS = 20_000;
const JOIN_LIMIT_MS = 60_000;

export interface RedriveOptions {
  fromBeginning: boolean;
  limit?: number;
  dryRun: boolean;
  reason?: string;
}

export function parseRedriveArgs(args: string[]): RedriveOptions | 'help' {
  const { values, positionals: given } = parseCommand('redrive', args, {
    'from-beginning': { type: 'boolean' },
    limit: { type: 'string' },
    'dry-run': { type: 'boolean' },
    reason: { type: 'string' },
  });
  if (values.help) return 'help';
  positionals('redrive', given, []);
  const limit = wholeNumber('redrive', '--limit', values.limit, 1);
  const reason = values.reason?.trim();
  if (values.reason !== undefined && !reason) throw new UsageError('--reason: a dlq-reason is required (INVALID_CLOUDEVENT, INVALID_EVENT, UNKNOWN_EVENT_TYPE, ...)', 'redrive');
  return {
    fromBeginning: values['from-beginning'] ?? false,
    dryRun: values['dry-run'] ?? false,
    ...(limit !== undefined ? { limit } : {}),
    ...(reason ? { reason } : {}),
  };
}

/** Headers as kafkajs hands them over (IHeaders), typed here so kafkajs is imported only by messaging/kafka.ts. */
type RawHeaders = Record<string, Buffer | string | Array<Buffer | string> | undefined> | undefined;

/** The original headers of a dead letter: every header but ours (`dlq-*`), first value of each. */
export function originalHeaders(headers: RawHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase().startsWith('dlq-')) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

function header(headers: RawHeaders, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first?.toString();
}

/** The fields a dead letter's errors name (`dlq-errors` is a JSON array of `field: message`); never the messages, which may quote personal values. */
export function faultFields(dlqErrors: string | undefined): string {
  if (!dlqErrors) return '-';
  try {
    const errors: unknown = JSON.parse(dlqErrors);
    if (!Array.isArray(errors) || errors.length === 0) return '-';
    return errors.map((e) => (typeof e === 'string' && e.indexOf(': ') > 0 ? e.slice(0, e.indexOf(': ')) : '(unspecified)')).join(',');
  } catch {
    return '(unreadable dlq-errors)';
  }
}

interface PartitionPlan {
  partition: number;
  /** First offset to handle (the group's committed offset, or the oldest record). */
  start: bigint;
  /** End of the partition when the run started: records at or after it are left for the next run. */
  end: bigint;
  /** Next offset expected. */
  next: bigint;
}

interface Counts {
  read: number;
  redriven: number;
  passedOver: number;
  noSource: number;
  byTopic: Map<string, number>;
}

/**
 * `referrals redrive`: dead letters back to the topics they came from, original bytes, key and headers.
 *
 * messaging/kafka.ts's consume() commits every record it hands over and never ends by itself; a
 * redrive needs a read that stops at the end of the topic as it was, a dry run that commits
 * nothing and a reset of the group's offsets. So this module drives the kafkajs client that
 * createKafka() hands out (it does not import kafkajs), and produces through createPublisher()
 * (idempotent, acks=-1) like the engine does.
 */
export async function redrive(args: string[], io: Io): Promise<ExitCode> {
  const options = parseRedriveArgs(args);
  if (options === 'help') {
    io.out(commandHelp.redrive);
    return EXIT.OK;
  }
  let config: EngineConfig;
  try {
    config = loadEngineConfig(io.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, 'redrive');
    throw err;
  }
  const { brokers } = config.kafka;
  const dlq = config.kafka.topics.deadLetter;
  await probeBrokers(brokers);

  const logger = kafkaLogger(io.env);
  // The redrive principal alone may read the dead letters and put them back where they came from.
  let security;
  try {
    security = resolveKafkaSecurity(config.kafka.security, loadKafkaAccess(config.kafka.accessFile), ['redrive']).redrive;
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message, 'redrive');
    throw err;
  }
  const connection = createKafka({ brokers, clientId: `${config.kafka.clientId}-redrive`, logger, security });
  const admin = connection.kafka.admin();
  let publisher: Publisher | undefined;
  try {
    await admin.connect();
    const topics = new Set(await admin.listTopics());
    if (!topics.has(dlq)) throw new CliError(EXIT.NOT_FOUND, `no topic "${dlq}" on the broker at ${brokers.join(',')} (KAFKA_TOPIC_DEAD_LETTER)`);

    if (!options.dryRun) {
      // Two redrives in one group would split the partitions between them: refuse the second.
      const { groups } = await admin.describeGroups([REDRIVE_GROUP]);
      const members = groups[0]?.members.length ?? 0;
      if (members > 0) throw new CliError(EXIT.REJECTED, `the group ${REDRIVE_GROUP} has ${members} running member(s): another redrive is running (or one stopped abruptly less than 30 s ago); try again when it has finished`);
    }
    if (options.fromBeginning && !options.dryRun) {
      try {
        await admin.resetOffsets({ groupId: REDRIVE_GROUP, topic: dlq, earliest: true });
      } catch (err) {
        if (/no running instances/i.test((err as Error).message)) {
          throw new CliError(EXIT.REJECTED, `--from-beginning: the group ${REDRIVE_GROUP} has running members (another redrive?); try again when it has finished`);
        }
        throw err;
      }
    }
    const plan = await planPartitions(admin, dlq, options.fromBeginning);
    const total = plan.reduce((n, p) => n + Number(p.end - p.start), 0);
    const what = options.dryRun ? 'redrive (dry run)' : 'redrive';
    if (total === 0) {
      io.out(`${what}: nothing to re-drive on ${dlq}: the group ${REDRIVE_GROUP} has handled every record${options.fromBeginning ? ' (the topic is empty)' : ' (--from-beginning goes over them again)'}`);
      return EXIT.OK;
    }
    io.out(`${what}: ${total} record(s) to read on ${dlq}${options.reason ? `, only those with dlq-reason ${options.reason}` : ''}${options.limit ? `, at most ${options.limit}` : ''}`);
    if (!options.dryRun) publisher = createPublisher(connection);
    const counts = await readAndRedrive(connection, { dlq, plan, options, publisher, topics, io, keyRing: keyRingLoader(config) });
    const remaining = plan.reduce((n, p) => n + Number(p.end > p.next ? p.end - p.next : 0n), 0);
    io.out(summary(what, dlq, counts, remaining, options));
    return EXIT.OK;
  } catch (err) {
    throw asCliError(err, brokers);
  } finally {
    await publisher?.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

type Admin = ReturnType<KafkaConnection['kafka']['admin']>;

async function planPartitions(admin: Admin, topic: string, fromBeginning: boolean): Promise<PartitionPlan[]> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: REDRIVE_GROUP, topics: [topic] })]);
  const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  return ends
    .map((e) => {
      const low = BigInt(e.low);
      const end = BigInt(e.high);
      const at = done.get(e.partition);
      const start = fromBeginning || at === undefined || at < low ? low : at > end ? end : at;
      return { partition: e.partition, start, end, next: start };
    })
    .sort((a, b) => a.partition - b.partition);
}

interface ReadContext {
  dlq: string;
  plan: PartitionPlan[];
  options: RedriveOptions;
  publisher: Publisher | undefined;
  topics: Set<string>;
  io: Io;
  /** The engine's payload keys, loaded at the first sealed dead letter (a topic without any needs none). */
  keyRing: () => KeyRing;
}

/** Loads the key ring once, from the same variables as the engine (PAYLOAD_KEYS or PAYLOAD_KEYS_FILE). */
function keyRingLoader(config: EngineConfig): () => KeyRing {
  let keyRing: KeyRing | undefined;
  return () => (keyRing ??= loadKeyRing(config.payloadKeys));
}

/** A key id read from a header, quoted when it is a plain id (it is printed). */
function quotedKeyId(id: string): string {
  return KEY_ID_PATTERN.test(id) ? `"${id}"` : '(not a valid key id)';
}

/**
 * The original value of a dead letter: unsealed with the payload key named by its `dlq-sealed`
 * header, or as it is when it has none (a dead letter written without sealing). A key this
 * process lacks, or a value that fails authentication, stops the run (exit 1) naming the key id.
 */
export function originalValue(value: Buffer | null, sealedWith: string | undefined, keyRing: () => KeyRing, where: string, kdf?: string): Buffer | null {
  if (sealedWith === undefined || value === null) return value;
  return unsealing(sealedWith, keyRing, where, (ring) => unseal(ring, value, sealedWith, kdf));
}

/**
 * The original headers of a dead letter: unsealed from `dlq-sealed-headers` with the key its
 * `dlq-sealed` names, exactly as the sender sent them; a dead letter without it (from before
 * header sealing, or never sealed) keeps them in clear beside ours (originalHeaders).
 */
export function restoredHeaders(headers: RawHeaders, keyRing: () => KeyRing, where: string): Record<string, string> {
  const clear = originalHeaders(headers);
  const sealed = header(headers, DLQ_HEADERS.sealedHeaders);
  if (sealed === undefined) return clear;
  const sealedWith = header(headers, DLQ_HEADERS.sealed);
  if (sealedWith === undefined) throw new CliError(EXIT.REJECTED, `${where}: it has ${DLQ_HEADERS.sealedHeaders} but no ${DLQ_HEADERS.sealed} naming the key. It and the records after it are left uncommitted for the next run.`);
  const kdf = header(headers, DLQ_HEADERS.sealedKdf);
  return { ...clear, ...unsealing(sealedWith, keyRing, where, (ring) => unsealHeaders(ring, sealed, sealedWith, kdf)) };
}

/** Loads the key ring and opens a sealed part; a key that cannot be loaded exits 2, one it lacks (or a bad seal) exits 1. */
function unsealing<T>(sealedWith: string, keyRing: () => KeyRing, where: string, open: (ring: KeyRing) => T): T {
  let ring: KeyRing;
  try {
    ring = keyRing();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new CliError(EXIT.USAGE, `${where} is sealed with payload key ${quotedKeyId(sealedWith)}, but no payload key can be loaded (left uncommitted for the next run): ${err.message}`);
  }
  try {
    return open(ring);
  } catch (err) {
    if (!(err instanceof PayloadEncryptionError)) throw err;
    throw new CliError(EXIT.REJECTED, `${where}: ${err.message}. It and the records after it are left uncommitted for the next run.`);
  }
}

async function readAndRedrive(connection: KafkaConnection, ctx: ReadContext): Promise<Counts> {
  const { dlq, plan, options, publisher, io } = ctx;
  const counts: Counts = { read: 0, redriven: 0, passedOver: 0, noSource: 0, byTopic: new Map() };
  const byPartition = new Map(plan.map((p) => [p.partition, p]));
  // A dry run reads with a throwaway group that commits nothing, from where the real group stands.
  const groupId = options.dryRun ? `${REDRIVE_GROUP}-dry-run-${process.pid}-${Date.now().toString(36)}` : REDRIVE_GROUP;
  const consumer = connection.kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500, sessionTimeout: 30_000, retry: { retries: 3 } });

  let settle!: (err?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve());
  });
  let stopped = false;
  const stop = (err?: unknown) => {
    if (stopped) return;
    stopped = true;
    settle(err);
  };
  const allRead = () => plan.every((p) => p.next >= p.end);
  if (allRead()) stop();

  let idle: NodeJS.Timeout | undefined;
  const watchIdle = (ms: number, why: string) => {
    clearTimeout(idle);
    idle = setTimeout(() => stop(new CliError(EXIT.UNREACHABLE, why)), ms);
  };
  watchIdle(JOIN_LIMIT_MS, `the consumer group ${groupId} did not join within ${JOIN_LIMIT_MS / 1000} s`);
  consumer.on(consumer.events.GROUP_JOIN, () => watchIdle(IDLE_LIMIT_MS, `no record arrived for ${IDLE_LIMIT_MS / 1000} s although ${dlq} holds more`));
  consumer.on(consumer.events.CRASH, (event) => stop(event.payload.error));

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [dlq], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachMessage: async ({ partition, message }) => {
        const p = byPartition.get(partition);
        const offset = BigInt(message.offset);
        // Not ours (arrived after the start, or beyond --limit, or after a failure): left uncommitted for the next run.
        if (stopped || !p || offset >= p.end || offset < p.next) return;
        watchIdle(IDLE_LIMIT_MS, `no record arrived for ${IDLE_LIMIT_MS / 1000} s although ${dlq} holds more`);
        const where = `${dlq}/${partition}@${message.offset}`;
        const reason = header(message.headers, DLQ_HEADERS.reason);
        const source = header(message.headers, DLQ_HEADERS.topic);
        const sealedWith = header(message.headers, DLQ_HEADERS.sealed);
        const key = message.key?.toString('utf8') ?? null;
        counts.read += 1;
        try {
          if (options.reason && reason !== options.reason) {
            counts.passedOver += 1;
          } else if (!source) {
            counts.noSource += 1;
            io.out(`passed over ${where}: no ${DLQ_HEADERS.topic} header, so no topic to re-drive it to`);
          } else if (options.dryRun) {
            counts.redriven += 1;
            counts.byTopic.set(source, (counts.byTopic.get(source) ?? 0) + 1);
            // Listed, not unsealed: a dry run needs no key.
            const sealed = sealedWith === undefined ? '' : `  sealed ${quotedKeyId(sealedWith).replaceAll('"', '')}`;
            io.out(`would re-drive ${where} -> ${source}  key ${key ?? '-'}  reason ${reason ?? '-'}  fields ${faultFields(header(message.headers, DLQ_HEADERS.errors))}${sealed}`);
          } else {
            if (!ctx.topics.has(source)) {
              throw new CliError(EXIT.REJECTED, `${where}: its ${DLQ_HEADERS.topic} "${source}" is not a topic on the broker; create it (or pass the record over with --reason) and run redrive again`);
            }
            // The original bytes (unsealed), key and headers, so the bridge sees exactly what the agency sent.
            const value = originalValue(message.value, sealedWith, ctx.keyRing, where, header(message.headers, DLQ_HEADERS.sealedKdf));
            const headers = restoredHeaders(message.headers, ctx.keyRing, where);
            await publisher!.publish([{ topic: source, key, value, headers }]);
            counts.redriven += 1;
            counts.byTopic.set(source, (counts.byTopic.get(source) ?? 0) + 1);
          }
          if (!options.dryRun) await consumer.commitOffsets([{ topic: dlq, partition, offset: (offset + 1n).toString() }]);
        } catch (err) {
          stop(err);
          return;
        }
        p.next = offset + 1n;
        if (!options.dryRun && counts.read % PROGRESS_EVERY === 0) {
          io.out(`redrive: ${counts.read} read, ${counts.redriven} re-driven, ${counts.passedOver + counts.noSource} passed over`);
        }
        if (options.limit !== undefined && counts.redriven >= options.limit) stop();
        else if (allRead()) stop();
      },
    });
    // Start each partition where the group stands (a dry run's throwaway group starts at the oldest record).
    for (const p of plan) if (p.start < p.end) consumer.seek({ topic: dlq, partition: p.partition, offset: p.start.toString() });
    await finished;
  } finally {
    clearTimeout(idle);
    stopped = true;
    await consumer.disconnect().catch(() => undefined);
  }
  return counts;
}

function summary(what: string, dlq: string, c: Counts, remaining: number, options: RedriveOptions): string {
  const targets = [...c.byTopic].map(([t, n]) => `${t}: ${n}`).join(', ');
  const verb = options.dryRun ? 'would re-drive' : 're-drove';
  const parts = [`${what}: ${verb} ${c.redriven} of ${c.read} record(s) read from ${dlq}${targets ? ` (${targets})` : ''}`];
  if (c.passedOver) parts.push(`passed over ${c.passedOver} with another dlq-reason than ${options.reason}`);
  if (c.noSource) parts.push(`passed over ${c.noSource} without ${DLQ_HEADERS.topic}`);
  if (options.limit !== undefined && c.redriven >= options.limit && remaining > 0) {
    parts.push(`stopped at --limit ${options.limit}; ${remaining} record(s) ${options.dryRun ? 'not read' : 'left for the next run'}`);
  }
  parts.push(options.dryRun ? 'nothing produced, no offset committed' : `offsets committed for group ${REDRIVE_GROUP}`);
  return parts.join('; ');
}

/** A quick TCP check, so an unreachable broker fails in seconds rather than after the client's retries. */
async function probeBrokers(brokers: string[], timeoutMs = 3_000): Promise<void> {
  const attempts = brokers.map(
    (broker) =>
      new Promise<string | undefined>((resolve) => {
        const at = broker.lastIndexOf(':');
        const socket = tcpConnect({ host: broker.slice(0, at), port: Number(broker.slice(at + 1)) });
        const done = (problem?: string) => {
          socket.destroy();
          resolve(problem);
        };
        socket.setTimeout(timeoutMs, () => done('no answer in time'));
        socket.once('connect', () => done());
        socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
      }),
  );
  const problems = await Promise.all(attempts);
  if (problems.every((p) => p !== undefined)) {
    throw new CliError(EXIT.UNREACHABLE, `cannot reach Kafka at ${brokers.join(',')} (${[...new Set(problems)].join(', ')}): is the broker running? (KAFKA_BROKERS)`);
  }
}

/** The Kafka client's own log: silent unless LOG_LEVEL is set, and then on stderr (stdout is the command's output). */
function kafkaLogger(env: NodeJS.ProcessEnv): Logger {
  const level = env['LOG_LEVEL'] || 'silent';
  return pino({ name: 'referrals-redrive', level, redact: { paths: redactPaths, censor: '[redacted]' } }, pino.destination(2));
}

/** Broker failures: connection problems exit 3, refusals 1. */
function asCliError(err: unknown, brokers: string[]): unknown {
  if (err instanceof CliError) return err;
  const e = err as { name?: string; message?: string; cause?: { name?: string } };
  const names = [e.name, e.cause?.name].filter(Boolean).join(' ');
  if (/Connection|BrokerNotFound|RequestTimeout|NumberOfRetriesExceeded|Timeout/.test(names)) {
    return new CliError(EXIT.UNREACHABLE, `cannot reach Kafka at ${brokers.join(',')}: ${e.message ?? String(err)} (KAFKA_BROKERS)`);
  }
  return new CliError(EXIT.REJECTED, `the broker refused: ${e.message ?? String(err)}`);
}
