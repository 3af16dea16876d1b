/**
 * The publisher's producer sessions (messaging/kafka.ts): sends go one at a time, and a failed
 * send or connect ends the idempotent session, so that no later batch reuses a sequence number
 * that kafkajs rolled back after a request the broker may have written (the broker would drop
 * that batch as a duplicate: records lost). Found by test/integration/faults.test.ts (broker restart).
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
  async sendBatch(batch: { topicMessages: Array<{ messages: Array<{ key: string | null }> }> }) {
    const keys = batch.topicMessages.flatMap((t) => t.messages.map((m) => m.key ?? '')).join(',');
    this.started.push(keys);
    if (this.hold) await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.failSend) throw new Error('Connection error: read ECONNRESET');
    this.sent.push(keys);
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
});
