import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import type { Topics } from '../config/env.js';
import { allTopics as accessTopics, loadKafkaAccess, senderTopics } from '../config/kafka-access.js';
import type { KafkaSecurity } from '../messaging/kafka.js';
import { AgencyCode } from '../schemas/common.js';
import { benchKafkaFiles } from './stack.js';

/**
 * The bench's side of Kafka: what an agency does (produce to the intake topic, read its own
 * topic), in plain kafkajs, independent of the engine's messaging module. The only bench file
 * that imports kafkajs.
 */
export interface Received {
  topic: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Date.now() when this process received it. */
  at: number;
  /** The record's Kafka timestamp (the producer's create time), ms. */
  timestamp: number;
}

export interface ProduceRecord {
  topic: string;
  key: string | null;
  value: string | Buffer | null;
  headers: Record<string, string>;
}

/** A run's own topic names, so scenarios never read each other's records. */
export function benchTopics(prefix: string): Topics {
  return { intake: `${prefix}.intake`, actions: `${prefix}.actions`, deadLetter: `${prefix}.dead-letter`, events: `${prefix}.events`, notifyPrefix: `${prefix}.notify.` };
}

/** Every topic an engine with these names reads or writes: per-sender intake and actions, notifications, events, dead letters (the broker creates none). */
export function allTopics(topics: Topics): string[] {
  return accessTopics(loadKafkaAccess(), topics);
}

/** The topic an agency writes its intakes to (`<intake>.<agency>`). */
export function intakeTopicFor(topics: Topics, agency: string): string {
  const code = AgencyCode.parse(agency);
  if (code === 'PARTNER') throw new Error('partner organisations send no intakes');
  return senderTopics(topics, { kind: 'agency', agency: code }).intake!;
}

/** The topic an agency writes its actions to (`<actions>.<agency>`). */
export function actionsTopicFor(topics: Topics, agency: string): string {
  const code = AgencyCode.parse(agency);
  if (code === 'PARTNER') throw new Error('a partner organisation writes to <actions>.partner.<org>');
  return senderTopics(topics, { kind: 'agency', agency: code }).actions;
}

/** Where a stack keeps its broker's CA and its principals' development passwords. */
export interface KafkaFiles {
  caFile: string;
  credentialsFile: string;
}

/** A stack's credentials of a principal (the broker speaks SASL_SSL with SCRAM-SHA-512); the bench stack's unless told. */
function credentials(principal: string, files: KafkaFiles = benchKafkaFiles()): { username: string; password: string; ca: string } {
  const { caFile, credentialsFile } = files;
  const password = (JSON.parse(readFileSync(credentialsFile, 'utf8')) as Record<string, string>)[principal];
  if (!password) throw new Error(`${credentialsFile} has no password for principal "${principal}"`);
  return { username: principal, password, ca: readFileSync(caFile, 'utf8') };
}

/**
 * How a client reaches the bench stack's broker: SASL_SSL with SCRAM-SHA-512 (the engine's
 * default), or the development-only PLAINTEXT listener (no TLS, no login; every client there is
 * a super user), which exists only to measure what TLS and SCRAM cost.
 */
export type TransportName = 'SASL_SSL' | 'PLAINTEXT';

/**
 * The engine's messaging settings for the bench's in-process engine: the admin principal, since
 * the bench's topics carry a run prefix the ACL table does not name; on the PLAINTEXT listener,
 * no security at all.
 */
export function benchEngineSecurity(transport: TransportName = 'SASL_SSL', principal = 'admin'): KafkaSecurity {
  if (transport === 'PLAINTEXT') return { protocol: 'PLAINTEXT' };
  const c = credentials(principal);
  return { protocol: 'SASL_SSL', sasl: { mechanism: 'scram-sha-512', username: c.username, password: c.password }, tls: { ca: c.ca } };
}

/** What the connections this process opened to one broker port cost, from watchConnections(). */
export interface ConnectionCounts {
  /** Sockets opened (a TCP connect, with a TLS handshake on a TLS port). */
  opened: number;
  /** Sum of connect → `connect` (plaintext) or → `secureConnect` (TCP plus TLS handshake), ms. */
  connectMs: number;
  /** SASL authentications done on those sockets (kafkajs's Connection.authenticate with a SASL mechanism). */
  authenticated: number;
  /** Sum of the time the SASL exchanges took (SCRAM: two round trips and PBKDF2 on both sides), ms. */
  authMs: number;
  /** Kafka requests sent on those sockets, by API (a login's ApiVersions, SaslHandshake and SaslAuthenticate included). */
  requests: Record<string, number>;
}

const counts = new Map<number, ConnectionCounts>();
const countsOf = (port: number): ConnectionCounts => {
  let c = counts.get(port);
  if (!c) counts.set(port, (c = { opened: 0, connectMs: 0, authenticated: 0, authMs: 0, requests: {} }));
  return c;
};
/** All requests of a count. */
export const requestTotal = (c: ConnectionCounts): number => Object.values(c.requests).reduce((s, n) => s + n, 0);
let watching = false;

/**
 * Counts and times, per broker port, every socket kafkajs opens in this process (the engine's
 * clients and the bench's own) and every SASL login on them: how many TLS handshakes and SCRAM
 * exchanges a measured round paid for, against its steady-state traffic. Wraps `tls.connect` and
 * `net.connect` (kafkajs's socket factory calls them by property) and kafkajs's
 * `Connection.prototype.authenticate`; measurement only, for the bench's process.
 */
export function watchConnections(): void {
  if (watching) return;
  watching = true;
  const require = createRequire(import.meta.url);
  const portOf = (args: unknown[]): number => {
    const first = args[0];
    if (typeof first === 'object' && first !== null && 'port' in first) return Number((first as { port: unknown }).port);
    return Number(first);
  };
  for (const [name, ready] of [
    ['node:tls', 'secureConnect'],
    ['node:net', 'connect'],
  ] as const) {
    const mod = require(name) as { connect: (...args: unknown[]) => NodeJS.EventEmitter };
    const original = mod.connect;
    mod.connect = function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      const socket = original.apply(this, args);
      const c = countsOf(portOf(args));
      c.opened++;
      socket.once(ready, () => (c.connectMs += performance.now() - t0));
      return socket;
    };
  }
  const kafkajsMain = require.resolve('kafkajs');
  const Connection = require(kafkajsMain.replace(/index\.js$/, 'src/network/connection.js')) as {
    prototype: {
      authenticate(this: { port: number; sasl?: unknown }): Promise<void>;
      send(this: { port: number }, ...args: [{ request: { apiName: string } }]): Promise<unknown>;
    };
  };
  const send = Connection.prototype.send;
  Connection.prototype.send = function (this: { port: number }, ...args: [{ request: { apiName: string } }]) {
    const requests = countsOf(Number(this.port)).requests;
    const api = args[0].request.apiName;
    requests[api] = (requests[api] ?? 0) + 1;
    return send.apply(this, args);
  };
  const authenticate = Connection.prototype.authenticate;
  Connection.prototype.authenticate = async function (this: { port: number; sasl?: unknown; isAuthenticated(): boolean }) {
    if (!this.sasl || this.isAuthenticated()) return authenticate.call(this);
    const t0 = performance.now();
    await authenticate.call(this);
    const c = countsOf(Number(this.port));
    c.authenticated++;
    c.authMs += performance.now() - t0;
  };
}

/** A copy of the counts of one broker port so far (zeros before the first socket). */
export function connectionCounts(port: number): ConnectionCounts {
  const c = countsOf(port);
  return { ...c, requests: { ...c.requests } };
}

/** b - a, field by field: what happened between two connectionCounts(). */
export function connectionsBetween(a: ConnectionCounts, b: ConnectionCounts): ConnectionCounts {
  const requests = Object.fromEntries(Object.entries(b.requests).map(([api, n]) => [api, n - (a.requests[api] ?? 0)] as const).filter(([, n]) => n > 0));
  return { opened: b.opened - a.opened, connectMs: b.connectMs - a.connectMs, authenticated: b.authenticated - a.authenticated, authMs: b.authMs - a.authMs, requests };
}

export class BenchKafka {
  private readonly kafka: Kafka;
  private readonly open: Array<{ disconnect(): Promise<void> }> = [];

  constructor(
    readonly brokers: string,
    readonly transport: TransportName = 'SASL_SSL',
    readonly principal = 'admin',
    /** Another stack's CA and passwords (the cluster profile's); the bench stack's by default. */
    files?: KafkaFiles,
  ) {
    const c = transport === 'SASL_SSL' ? credentials(principal, files) : undefined;
    this.kafka = new Kafka({
      clientId: 'referral-bench',
      brokers: brokers.split(','),
      logLevel: logLevel.NOTHING,
      ...(c
        ? { ssl: { ca: [c.ca], rejectUnauthorized: true }, sasl: { mechanism: 'scram-sha-512', username: c.username, password: c.password } }
        : {}),
    });
  }

  /**
   * A fresh client's way in, `times` times: admin connect (TCP, TLS handshake and SCRAM login on
   * SASL_SSL; then the API versions and metadata requests), then disconnect. Milliseconds each.
   */
  async connectOnce(): Promise<number> {
    const admin = this.kafka.admin();
    const t0 = performance.now();
    await admin.connect();
    const ms = performance.now() - t0;
    await admin.disconnect();
    return ms;
  }

  /** Creates the topics and waits until every partition has a leader (right after creation, metadata may lag). */
  async createTopics(topics: string[], numPartitions = 3): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t));
      await admin.createTopics({ waitForLeaders: false, topics: missing.map((topic) => ({ topic, numPartitions, replicationFactor: 1 })) });
      for (let attempt = 0; ; attempt++) {
        try {
          const meta = await admin.fetchTopicMetadata({ topics });
          if (meta.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
        } catch (err) {
          if (attempt >= 50) throw err;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** A plain producer (acks=-1), as an agency's would be. */
  async producer(): Promise<BenchProducer> {
    const producer = this.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    this.open.push(producer);
    return new BenchProducer(producer);
  }

  /**
   * Reads the topics from the beginning in a fresh group, calling onRecord with the receive time;
   * resolves once the group is joined, so what is produced next is read as soon as it lands.
   */
  async collect(topics: string[], onRecord: (r: Received) => void): Promise<Consumer> {
    // An agency's principal may only use groups named `<principal>.…` (config/kafka-access.ts).
    const prefix = this.principal === 'admin' ? '' : `${this.principal}.`;
    const consumer = this.kafka.consumer({ groupId: `${prefix}bench-collector-${Date.now()}-${Math.random().toString(36).slice(2)}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    // A consumer that cannot join (a crash kafkajs gives up on, a broker too loaded to answer) fails the scenario instead of hanging it.
    let timer: NodeJS.Timeout | undefined;
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => resolve());
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart) reject(new Error(`bench reader of ${topics.join(', ')} crashed: ${e.payload.error.message}`));
      });
      timer = setTimeout(() => reject(new Error(`bench reader of ${topics.join(', ')} did not join its group within 120 s`)), 120_000);
    }).finally(() => clearTimeout(timer));
    joined.catch(() => undefined); // awaited below; no unhandled rejection if subscribe fails first
    this.open.push(consumer);
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const at = Date.now();
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = (Array.isArray(v) ? v[0] : v)!.toString();
        onRecord({ topic, key: message.key?.toString() ?? null, value: message.value, headers, at, timestamp: Number(message.timestamp) });
      },
    });
    await joined;
    return consumer;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.open.splice(0).map((c) => c.disconnect()));
  }
}

export class BenchProducer {
  constructor(private readonly producer: Producer) {}

  /** Sends records in one request per chunk, chunks one after another; returns when all are acknowledged. */
  async sendAll(records: readonly ProduceRecord[], chunk = 250, onChunk?: (first: number, count: number) => void): Promise<void> {
    for (let i = 0; i < records.length; i += chunk) {
      const part = records.slice(i, i + chunk);
      onChunk?.(i, part.length);
      const byTopic = new Map<string, ProduceRecord[]>();
      for (const r of part) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, rs]) => ({ topic, messages: rs.map((r) => ({ key: r.key, value: r.value, headers: r.headers })) })),
      });
    }
  }

  async send(record: ProduceRecord): Promise<void> {
    await this.producer.send({ topic: record.topic, acks: -1, messages: [{ key: record.key, value: record.value, headers: record.headers }] });
  }
}
