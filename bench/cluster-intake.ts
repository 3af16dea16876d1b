/**
 * Intake on the cluster profile (scripts/cluster.sh): N detections produced at once as FIA's own
 * principal on FIA's intake topic, until the lead's `referral.routed.v1` is read back on
 * referrals.notify.fia: routed/s and produce → notification latency (p50/p95/p99). The cluster must
 * be up (`npm run stack -- up --profile cluster`); nothing is started or stopped here.
 *
 *   node --import tsx bench/cluster-intake.ts [--count N] [--stack-dir DIR]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { intakeRecord } from '../scripts/intake-event.js';
import { detected } from '../test/support/fixtures.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '200' }, 'stack-dir': { type: 'string', default: '.stack/cluster' } } });
const count = Number(values.count);
const dir = values['stack-dir']!;
const env = Object.fromEntries(
  readFileSync(`${dir}/endpoints.env`, 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
) as Record<string, string>;
const passwords = JSON.parse(readFileSync(env['KAFKA_CREDENTIALS_FILE']!, 'utf8')) as Record<string, string>;
const as = (principal: string) =>
  new Kafka({
    clientId: `bench-cluster-${principal}`,
    brokers: env['KAFKA_BROKERS']!.split(','),
    logLevel: logLevel.NOTHING,
    ssl: { ca: [readFileSync(env['KAFKA_SSL_CA_FILE']!, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: principal, password: passwords[principal]! },
  });

const referrals = Array.from({ length: count }, () => detected());
const sentAt = new Map<string, number>();
const latencies: number[] = [];
const consumer = as('fia').consumer({ groupId: `fia.bench-${Date.now()}` });
await consumer.connect();
await consumer.subscribe({ topics: ['referrals.notify.fia'], fromBeginning: false });
let done: () => void = () => undefined;
const allRouted = new Promise<void>((r) => (done = r));
const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
await consumer.run({
  eachMessage: async ({ message }) => {
    const key = message.key?.toString() ?? '';
    if (message.headers?.['ce_type']?.toString() !== 'referral.routed.v1' || !sentAt.has(key)) return;
    latencies.push(Date.now() - sentAt.get(key)!);
    sentAt.delete(key);
    if (latencies.length === count) done();
  },
});
await joined;
const producer = as('fia').producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const start = Date.now();
const records = referrals.map((r) => intakeRecord('referrals.intake.fia', r, 'urn:agency:fia'));
for (let i = 0; i < records.length; i += 50) {
  const batch = records.slice(i, i + 50);
  const now = Date.now();
  for (const r of batch) sentAt.set(r.key!, now);
  await producer.send({ topic: 'referrals.intake.fia', acks: -1, messages: batch.map((r) => ({ key: r.key, value: r.value, headers: r.headers })) });
}
const timeout = setTimeout(() => done(), 300_000);
await allRouted;
clearTimeout(timeout);
const seconds = (Date.now() - start) / 1000;
const sorted = [...latencies].sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
console.log(
  `cluster intake: ${latencies.length}/${count} routed in ${seconds.toFixed(1)} s = ${(latencies.length / seconds).toFixed(1)} routed/s; ` +
    `produce → FIA notification p50 ${pct(50)} ms, p95 ${pct(95)} ms, p99 ${pct(99)} ms`,
);
await producer.disconnect();
await consumer.disconnect();
process.exit(latencies.length === count ? 0 : 1);
