import { readFileSync } from 'node:fs';
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

/** The bench stack's credentials of a principal (the broker speaks SASL_SSL with SCRAM-SHA-512). */
function credentials(principal: string): { username: string; password: string; ca: string } {
  const { caFile, credentialsFile } = benchKafkaFiles();
  const password = (JSON.parse(readFileSync(credentialsFile, 'utf8')) as Record<string, string>)[principal];
  if (!password) throw new Error(`${credentialsFile} has no password for principal "${principal}"`);
  return { username: principal, password, ca: readFileSync(caFile, 'utf8') };
}

/**
 * The engine's messaging settings for the bench's in-process engine: the admin principal, since
 * the bench's topics carry a run prefix the ACL table does not name.
 */
export function benchEngineSecurity(principal = 'admin'): KafkaSecurity {
  const c = credentials(principal);
  return { protocol: 'SASL_SSL', sasl: { mechanism: 'scram-sha-512', username: c.username, password: c.password }, tls: { ca: c.ca } };
}

export class BenchKafka {
  private readonly kafka: Kafka;
  private readonly open: Array<{ disconnect(): Promise<void> }> = [];

  constructor(brokers: string, principal = 'admin') {
    const c = credentials(principal);
    this.kafka = new Kafka({
      clientId: 'referral-bench',
      brokers: brokers.split(','),
      logLevel: logLevel.NOTHING,
      ssl: { ca: [c.ca], rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-512', username: c.username, password: c.password },
    });
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
    const consumer = this.kafka.consumer({ groupId: `bench-collector-${Date.now()}-${Math.random().toString(36).slice(2)}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        const at = Date.now();
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = (Array.isArray(v) ? v[0] : v)!.toString();
        onRecord({ topic, key: message.key?.toString() ?? null, value: message.value, headers, at });
      },
    });
    await joined;
    this.open.push(consumer);
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
