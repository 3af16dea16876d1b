import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import type { ReadRecord } from './kafka-harness.js';
import { kafkajsAuth } from './test-kafka.js';

/**
 * Reads topics from the beginning up to their end offsets at the time of the call, with a fresh
 * consumer group, and returns every record (duplicates by offset cannot occur within one read).
 * For exact counts: unlike a long-running collector, it cannot miss what a broker restart
 * interrupted. `auth`: kafkajs `ssl`/`sasl` options (the test stack's admin principal by default);
 * `groupPrefix`: what the fresh group's name starts with (a principal other than the admin may use
 * only groups of its own prefix, e.g. `operator.`).
 */
export async function readTopics(
  brokers: string,
  topics: string[],
  timeoutMs = 60_000,
  auth: Pick<KafkaConfig, 'ssl' | 'sasl'> = kafkajsAuth(),
  groupPrefix = 'test-topic-reader-',
): Promise<ReadRecord[]> {
  const kafka = new Kafka({ clientId: 'test-topic-reader', brokers: brokers.split(','), logLevel: logLevel.NOTHING, ...auth });
  const admin = kafka.admin();
  await admin.connect();
  /** Per topic and partition: the offset of the last record to read (high watermark - 1), when there is one. */
  const pending = new Map<string, bigint>();
  try {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(p.high) > BigInt(p.low)) pending.set(`${topic}/${p.partition}`, BigInt(p.high) - 1n);
      }
    }
  } finally {
    await admin.disconnect();
  }
  const records: ReadRecord[] = [];
  if (pending.size === 0) return records;

  const consumer = kafka.consumer({ groupId: `${groupPrefix}${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 500 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let lastProgress = Date.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (pending.size === 0) {
          clearInterval(timer);
          resolve();
        } else if (Date.now() - lastProgress > timeoutMs) {
          clearInterval(timer);
          reject(new Error(`readTopics: ${pending.size} partition(s) not read to their end within ${timeoutMs} ms: ${[...pending.keys()].slice(0, 10).join(', ')}`));
        }
      }, 100);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            lastProgress = Date.now();
            const key = `${batch.topic}/${batch.partition}`;
            for (const message of batch.messages) {
              const headers: Record<string, string> = {};
              for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = (Array.isArray(v) ? v[0] : v)!.toString();
              records.push({ topic: batch.topic, partition: batch.partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value, headers });
              const last = pending.get(key);
              if (last !== undefined && BigInt(message.offset) >= last) pending.delete(key);
            }
            // A compacted topic may end in a gap: the batch's high watermark says it was read to the end.
            const last = pending.get(key);
            if (last !== undefined && BigInt(batch.highWatermark) - 1n <= BigInt(batch.lastOffset()) && BigInt(batch.lastOffset()) >= last) pending.delete(key);
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}
