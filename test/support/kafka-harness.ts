import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import type { Topics } from '../../config/env.js';
import { engineTopicList, kafkajsAuth } from './test-kafka.js';
import type { OutboundRecord } from '../../messaging/records.js';

/**
 * Test-side Kafka access: produce raw records as an agency would and read back what the engine
 * wrote. Deliberately plain kafkajs, independent of the engine's own messaging module.
 */
export interface ReadRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export class KafkaHarness {
  private readonly kafka: Kafka;
  private readonly consumers: Array<{ disconnect(): Promise<void> }> = [];

  /** `auth`: kafkajs `ssl`/`sasl` options (test/support/test-kafka.ts kafkajsAuth); the test stack's broker needs them. */
  constructor(brokers: string, auth: Pick<KafkaConfig, 'ssl' | 'sasl'> = kafkajsAuth()) {
    this.kafka = new Kafka({ clientId: 'test-harness', brokers: brokers.split(','), logLevel: logLevel.NOTHING, ...auth });
  }

  async createTopics(topics: string[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })) });
    await admin.disconnect();
  }

  /** Every topic an engine with these topic names reads or writes (the broker creates none by itself). */
  async createEngineTopics(topics: Topics, extra: string[] = []): Promise<void> {
    await this.createTopics([...engineTopicList(topics), ...extra]);
  }

  async produce(records: Array<Omit<OutboundRecord, 'value'> & { value: string | Buffer | null }>): Promise<void> {
    const producer = this.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (const r of records) await producer.send({ topic: r.topic, messages: [{ key: r.key, value: r.value, headers: r.headers }] });
    await producer.disconnect();
  }

  /** Collects every record of the topics from the beginning, for as long as the test needs. */
  async collect(topics: string[]): Promise<ReadRecord[]> {
    const seen: ReadRecord[] = [];
    const consumer = this.kafka.consumer({ groupId: `test-collector-${Date.now()}-${Math.random()}` });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = (Array.isArray(v) ? v[0] : v)!.toString();
        seen.push({ topic, partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value, headers });
      },
    });
    this.consumers.push(consumer);
    return seen;
  }

  async close(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.disconnect()));
  }
}

export async function eventually<T>(probe: () => T | Promise<T>, accept: (v: T) => boolean, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < until) {
    last = await probe();
    if (accept(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms (last: ${JSON.stringify(last)?.slice(0, 500)})`);
}
