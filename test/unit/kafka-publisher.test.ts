/**
 * The publisher's producer sessions (messaging/kafka.ts): sends go one at a time, and a failed
 * send or connect ends the idempotent session, so that no later batch reuses a sequence number
 * that kafkajs rolled back after a request the broker may have written (the broker would drop
 * that batch as a duplicate: records lost). Found by test/integration/faults.test.ts (broker restart).
 * And a send counts only when every partition it wrote to was acknowledged: kafkajs 2.2.4 may resolve
 * a send whose failed part it never retried (found by test/cluster/faults.test.ts, a node of three killed).
 */
import { describe, expect, it } from 'vitest';
import { createPublisher, type KafkaConnection } from '../../messaging/kafka.js';
import type { OutboundRecord } from '../../messaging/records.js';

class FakeProducer {
  readonly sent: string[] = [];
  connects = 0;
  disconnects = 0;
  failConnect = false;
  failSend = false;
  /** Held sends, released by the test. */
  hold = false;
  private readonly waiting: Array<() => void> = [];
  readonly started: string[] = [];

  constructor(readonly id: number) {}
  async connect() {
    this.connects++;
    if (this.failConnect) throw new Error('connect ECONNREFUSED');
  }
  async disconnect() {
    this.disconnects++;
  }
  /** Answers as kafkajs 2.2.4 may after a broker died mid-send: resolved, without this partition among the acknowledgements. */
  skipPartition: number | undefined;
  async sendBatch(batch: { topicMessages: Array<{ topic: string; messages: Array<{ key: string | null; partition?: number }> }> }) {
    const keys = batch.topicMessages.flatMap((t) => t.messages.map((m) => m.key ?? '')).join(',');
    this.started.push(keys);
    if (this.hold) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failSend) throw new Error('Connection error: read ECONNRESET');
    const written = new Set(batch.topicMessages.flatMap((t) => t.messages.map((m) => `${t.topic}/${m.partition}`)));
    const answers = [...written]
      .map((tp) => ({ topicName: tp.slice(0, tp.lastIndexOf('/')), partition: Number(tp.slice(tp.lastIndexOf('/') + 1)), errorCode: 0 }))
      .filter((a) => a.partition !== this.skipPartition);
    if (answers.length === written.size) this.sent.push(keys);
    return answers;
  }
  release() {
    this.waiting.splice(0).forEach((r) => r());
  }
}

function fakeKafka() {
  const producers: FakeProducer[] = [];
  const kafka = {
    producer: () => {
      const p = new FakeProducer(producers.length);
      producers.push(p);
      return p;
    },
    // Three partitions per topic, as the stacks create them.
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({
        topics: topics.map((name) => ({ name, partitions: [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1] })) })),
      }),
    }),
  };
  return { connection: { kafka } as unknown as KafkaConnection, producers };
}

const record = (key: string): OutboundRecord => ({ topic: 't', key, value: '{}', headers: {} });
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('createPublisher', () => {
  /** A publisher whose first send ('a') is held on the wire. */
  async function sendInProgress() {
    const { connection, producers } = fakeKafka();
    const publisher = createPublisher(connection);
    await publisher.connect();
    producers[0]!.hold = true;
    const first = publisher.publish([record('a')]);
    await tick(); // 'a' is on its way: what is published now waits for it
    return { publisher, producers, first };
  }

  it('sends one batch at a time, in call order', async () => {
    const { publisher, producers, first } = await sendInProgress();
    const second = publisher.publish([record('b')]);
    await tick();
    expect(producers[0]!.started).toEqual(['a']);
    producers[0]!.release();
    await first;
    producers[0]!.hold = false;
    await second;
    expect(producers[0]!.sent).toEqual(['a', 'b']);
  });

  it('publishes that wait for a send go together in the next request, in call order', async () => {
    const { publisher, producers, first } = await sendInProgress();
    const waiting = [publisher.publish([record('b')]), publisher.publish([record('c'), record('d')]), publisher.publish([record('e')])];
    await tick();
    expect(producers[0]!.started).toEqual(['a']);
    producers[0]!.hold = false;
    producers[0]!.release();
    await Promise.all([first, ...waiting]);
    expect(producers[0]!.sent).toEqual(['a', 'b,c,d,e']);
  });

  it('a failed shared request fails every publish in it, and the next one goes on a new session', async () => {
    const { publisher, producers, first } = await sendInProgress();
    const shared = [publisher.publish([record('b')]), publisher.publish([record('c')])].map((p) => p.then(() => 'sent', (err: Error) => err.message));
    producers[0]!.release();
    await first;
    await tick(); // 'b,c' is on its way, held
    expect(producers[0]!.started).toEqual(['a', 'b,c']);
    producers[0]!.failSend = true;
    producers[0]!.release();
    expect(await Promise.all(shared)).toEqual([expect.stringMatching(/ECONNRESET/), expect.stringMatching(/ECONNRESET/)]);
    await publisher.publish([record('d')]);
    expect(producers[1]!.sent).toEqual(['d']);
  });

  it('a failed send ends the producer session: the next send uses a new producer, and nothing sent in between reuses the old one', async () => {
    const { connection, producers } = fakeKafka();
    const publisher = createPublisher(connection);
    await publisher.connect();
    const old = producers[0]!;
    old.failSend = true;
    old.hold = true;
    const failing = publisher.publish([record('a')]);
    await tick();
    const next = publisher.publish([record('b')]);
    await tick();
    old.release();
    await expect(failing).rejects.toThrow(/ECONNRESET/);
    await next;
    expect(producers).toHaveLength(2);
    expect(old.sent).toEqual([]);
    expect(old.started).toEqual(['a']);
    expect(old.disconnects).toBe(1);
    expect(producers[1]!.connects).toBe(1);
    expect(producers[1]!.sent).toEqual(['b']);
  });

  it('a failed connect is not kept: the next publish connects again', async () => {
    const { connection, producers } = fakeKafka();
    const publisher = createPublisher(connection);
    producers[0]!.failConnect = true;
    await expect(publisher.publish([record('a')])).rejects.toThrow(/ECONNREFUSED/);
    await publisher.publish([record('b')]);
    expect(producers.at(-1)!.sent).toEqual(['b']);
  });

  it('disconnect waits for the send in progress', async () => {
    const { connection, producers } = fakeKafka();
    const publisher = createPublisher(connection);
    await publisher.connect();
    producers[0]!.hold = true;
    const sending = publisher.publish([record('a')]);
    const closing = publisher.disconnect();
    await tick();
    expect(producers[0]!.disconnects).toBe(0);
    producers[0]!.release();
    await sending;
    await closing;
    expect(producers[0]!.sent).toEqual(['a']);
    expect(producers[0]!.disconnects).toBe(1);
  });

  it('a send resolved without every partition it wrote to among the acknowledgements fails, and the next goes on a new session', async () => {
    const { connection, producers } = fakeKafka();
    const publisher = createPublisher(connection);
    await publisher.connect();
    // Which partition the default partitioner gives each key (by key, over 3 partitions).
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    producers[0]!.skipPartition = 1;
    await expect(publisher.publish(keys.map(record))).rejects.toThrow(/not acknowledged for t\/1/);
    expect(producers[0]!.sent).toEqual([]);
    await publisher.publish(keys.map(record));
    expect(producers).toHaveLength(2);
    expect(producers[1]!.sent).toEqual([keys.join(',')]);
  });
});
