import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import type { Topics } from '../config/env.js';
import { AgencyCode } from '../schemas/common.js';

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

export function allTopics(topics: Topics): string[] {
  const agencies = [...AgencyCode.options.map((a) => a.toLowerCase()), 'partners'];
  return [topics.intake, topics.actions, topics.deadLetter, topics.events, ...agencies.map((a) => `${topics.notifyPrefix}${a}`)];
}

export class BenchKafka {
  private readonly kafka: Kafka;
  private readonly open: Array<{ disconnect(): Promise<void> }> = [];

  constructor(brokers: string) {
    this.kafka = new Kafka({ clientId: 'referral-bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
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
