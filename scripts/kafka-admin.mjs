#!/usr/bin/env node
// Small Kafka admin helper for scripts/stack.sh (plain ESM, runs with plain `node`).
//
//   node scripts/kafka-admin.mjs ready         [--brokers H:P] [--timeout-ms N]
//   node scripts/kafka-admin.mjs create-topics [--brokers H:P] [--topics a,b] [--partitions N]
//                                              [--replication-factor N] [--timeout-ms N]
//
// `ready` proves the broker answers a real Metadata request (describeCluster) and
// reports at least one live broker; it retries until --timeout-ms (default 5000).
// `create-topics` creates the missing topics (idempotent) and waits for leaders.
// Defaults come from env: KAFKA_BROKERS (else 127.0.0.1:$KAFKA_PORT, else
// 127.0.0.1:9092) and KAFKA_TOPICS (comma separated, else the project topics).
// Exit codes: 0 ok, 1 failure/timeout, 2 usage error.
import { Kafka, logLevel } from 'kafkajs';

const DEFAULT_TOPICS = [
  'referrals.intake',
  'referrals.actions',
  'referrals.dead-letter',
  'referrals.events',
  'referrals.notify.fia',
  'referrals.notify.nccia',
  'referrals.notify.pta',
  'referrals.notify.pkcert',
  'referrals.notify.beoe',
  'referrals.notify.oec',
  'referrals.notify.police',
  'referrals.notify.swd',
  'referrals.notify.prosecution',
  'referrals.notify.mofa',
  'referrals.notify.moi',
  'referrals.notify.mophrd',
  'referrals.notify.ahtc-d',
  'referrals.notify.ahtc-p',
  'referrals.notify.ahtc-n',
  'referrals.notify.partners',
];

const USAGE = `usage: node scripts/kafka-admin.mjs <ready|create-topics> [options]
  --brokers H:P[,H:P]       bootstrap servers (env KAFKA_BROKERS, else 127.0.0.1:$KAFKA_PORT or 127.0.0.1:9092)
  --timeout-ms N            total time budget (ready: 5000, create-topics: 30000)
  --topics a,b,c            create-topics only (env KAFKA_TOPICS, else the project topics)
  --partitions N            create-topics only (default 3)
  --replication-factor N    create-topics only (default 1)`;

function fail(message, code = 1) {
  process.stderr.write(`kafka-admin: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const [command, ...rest] = argv;
  const opts = {};
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i];
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const eq = arg.indexOf('=');
    let key;
    let value;
    if (arg.startsWith('--') && eq > 0) {
      key = arg.slice(2, eq);
      value = arg.slice(eq + 1);
    } else if (arg.startsWith('--') && i + 1 < rest.length) {
      key = arg.slice(2);
      value = rest[i + 1];
      i += 1;
    } else {
      fail(`unexpected argument '${arg}'\n${USAGE}`, 2);
    }
    opts[key] = value;
  }
  return { command, opts };
}

function intOpt(opts, key, fallback) {
  if (opts[key] === undefined) return fallback;
  const n = Number(opts[key]);
  if (!Number.isInteger(n) || n <= 0) fail(`--${key} must be a positive integer, got '${opts[key]}'`, 2);
  return n;
}

function listOpt(value) {
  return String(value)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function client(brokers, requestTimeout) {
  return new Kafka({
    clientId: 'referral-engine-stack',
    brokers,
    connectionTimeout: 1000,
    requestTimeout,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
}

// Connects an admin client and runs fn(admin), retrying until the deadline.
async function withAdmin(brokers, deadline, fn) {
  let lastError = new Error('no attempt made');
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw lastError;
    const admin = client(brokers, Math.max(1000, Math.min(remaining, 10000))).admin();
    try {
      await admin.connect();
      return await fn(admin);
    } catch (err) {
      lastError = err instanceof Error ? err : new Error(String(err));
    } finally {
      await admin.disconnect().catch(() => {});
    }
    if (Date.now() + 250 >= deadline) throw lastError;
    await sleep(250);
  }
}

async function ready(brokers, timeoutMs) {
  const cluster = await withAdmin(brokers, Date.now() + timeoutMs, async (admin) => {
    const c = await admin.describeCluster();
    if (!c.brokers || c.brokers.length === 0) throw new Error('metadata lists no live broker yet');
    return c;
  });
  process.stdout.write(
    `ready: cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s), controller ${cluster.controller}\n`,
  );
}

async function createTopics(brokers, timeoutMs, topics, numPartitions, replicationFactor) {
  const result = await withAdmin(brokers, Date.now() + timeoutMs, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      await admin.createTopics({
        topics: missing.map((topic) => ({ topic, numPartitions, replicationFactor })),
        waitForLeaders: true,
        timeout: Math.max(5000, timeoutMs),
      });
    }
    // Prove every requested topic now has a leader for each partition.
    const meta = await admin.fetchTopicMetadata({ topics });
    for (const t of meta.topics) {
      const leaderless = t.partitions.filter((p) => p.leader === undefined || p.leader < 0);
      if (t.partitions.length === 0 || leaderless.length > 0) throw new Error(`topic ${t.name} has no leader yet`);
    }
    return { created: missing, present: topics.length - missing.length };
  });
  process.stdout.write(
    `topics: ${result.created.length} created, ${result.present} already present` +
      (result.created.length > 0 ? ` (created: ${result.created.join(', ')})` : '') +
      '\n',
  );
}

async function main() {
  const { command, opts } = parseArgs(process.argv.slice(2));
  const brokers = listOpt(
    opts.brokers ?? process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT || '9092'}`,
  );
  if (brokers.length === 0) fail('no brokers given', 2);
  switch (command) {
    case 'ready':
      await ready(brokers, intOpt(opts, 'timeout-ms', 5000));
      break;
    case 'create-topics': {
      const topics = listOpt(opts.topics ?? process.env.KAFKA_TOPICS ?? DEFAULT_TOPICS.join(','));
      if (topics.length === 0) fail('no topics given', 2);
      await createTopics(
        brokers,
        intOpt(opts, 'timeout-ms', 30000),
        topics,
        intOpt(opts, 'partitions', 3),
        intOpt(opts, 'replication-factor', 1),
      );
      break;
    }
    case undefined:
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      process.exit(command === undefined ? 2 : 0);
      break;
    default:
      fail(`unknown command '${command}'\n${USAGE}`, 2);
  }
}

main().catch((err) => {
  fail(err instanceof Error ? err.message : String(err));
});
