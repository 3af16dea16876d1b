import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, type KafkaConfig } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  aclTable,
  allPrincipalNames,
  allTopics,
  allowedOnTopic,
  loadKafkaAccess,
  type AccessGroups,
  type AccessTopics,
  type AclOperation,
} from '../../config/kafka-access.js';
import { caPem, certConfig, passwordOf, quickClient, readCredentials, saslConfig, type BrokerSecurity } from '../support/broker-clients.js';

/**
 * The broker's boundary, cell by cell, on the real test broker (ACLs on, plain kafkajs): every
 * principal but the admin × every topic × describe, produce and consume, by password (SCRAM-SHA-512
 * over TLS) and, for a few principals, by certificate (mTLS); each cell must be what the access
 * table says (config/kafka-access.ts allowedOnTopic), and a refusal must be an authorization
 * error, not a timeout. Clients that are not who they claim, or do not trust the broker, get nothing.
 */

const brokers = inject('kafkaBrokers');
const security: BrokerSecurity = inject('kafkaSecurity');
const stackEnv = inject('stackEnv');

const access = loadKafkaAccess(process.env['KAFKA_ACCESS_FILE'] || undefined);
const topics: AccessTopics = {
  intake: 'referrals.intake',
  actions: 'referrals.actions',
  deadLetter: 'referrals.dead-letter',
  events: 'referrals.events',
  notifyPrefix: 'referrals.notify.',
  audit: 'referrals.audit',
};
const groups: AccessGroups = { intake: 'referral-engine-intake', actions: 'referral-engine-actions', redrive: 'referral-engine-redrive' };
const rows = aclTable(access, topics, groups);
const topicNames = allTopics(access, topics);
const principals = allPrincipalNames(access).filter((p) => p !== access.admin);
/** By certificate: an agency, a partner organisation, an engine principal that only writes, an operator. */
const certPrincipals = ['fia', 'partner-iom', access.engine.publisher, access.operators[0]!];

const runId = `${process.pid}-${Date.now().toString(36)}`;
const MARKER_KEY = 'broker-trust-matrix';
const CONSUME_TIMEOUT_MS = 20_000;

type Kind = 'describe' | 'produce' | 'consume';
const operationOf: Record<Kind, AclOperation> = { describe: 'DESCRIBE', produce: 'WRITE', consume: 'READ' };
const AUTHZ = new Set(['TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED']);

interface Cell {
  via: 'password' | 'certificate';
  principal: string;
  topic: string;
  kind: Kind;
  expected: boolean;
  /** 'allowed', or how it was refused: an authorization error and the step (metadata, group, fetch), or another error. */
  outcome: 'allowed' | { refused: string } | { error: string };
}

const refusedBy = (c: Cell): string | undefined => (typeof c.outcome === 'object' && 'refused' in c.outcome ? c.outcome.refused : undefined);
const differs = (c: Cell): boolean => (c.outcome === 'allowed') !== c.expected || (typeof c.outcome === 'object' && 'error' in c.outcome);

/** The kafkajs error type (TOPIC_AUTHORIZATION_FAILED, …) of err or of what caused it, else its message. */
function errorType(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 6; depth += 1) {
    const x = e as { type?: unknown; errors?: unknown[]; cause?: unknown; originalError?: unknown };
    if (typeof x.type === 'string') return x.type;
    if (Array.isArray(x.errors) && x.errors.length > 0) return errorType(x.errors[0]);
    e = x.cause ?? x.originalError;
  }
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function outcomeOf(err: unknown, step: string): Cell['outcome'] {
  const type = errorType(err);
  return AUTHZ.has(type) ? { refused: `${type} (${step})` } : { error: `${type} (${step})` };
}

const errorNames = (err: unknown): string[] => {
  const names: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 6; depth += 1) {
    names.push((e as Error).name);
    e = (e as { cause?: unknown }).cause;
  }
  return names;
};

/**
 * kafkajs reports a FindCoordinator refused with GROUP_AUTHORIZATION_FAILED as
 * KafkaJSGroupCoordinatorNotFound (it drops the broker's error). It is a refusal when the admin,
 * asking the same broker for the same group, does find the coordinator.
 */
let coordinatorProbe: ((groupId: string) => Promise<boolean>) | undefined;
const coordinatorSeen = new Map<string, Promise<boolean>>();
function coordinatorAvailable(groupId: string): Promise<boolean> {
  if (!coordinatorSeen.has(groupId)) coordinatorSeen.set(groupId, coordinatorProbe ? coordinatorProbe(groupId) : Promise.resolve(false));
  return coordinatorSeen.get(groupId)!;
}

async function crashOutcome(err: unknown, groupId: string): Promise<Cell['outcome']> {
  if (errorNames(err).includes('KafkaJSGroupCoordinatorNotFound')) {
    return (await coordinatorAvailable(groupId))
      ? { refused: 'GROUP_AUTHORIZATION_FAILED (group: FindCoordinator refused)' }
      : { error: 'KafkaJSGroupCoordinatorNotFound, and the admin finds no coordinator either' };
  }
  return outcomeOf(err, errorType(err) === 'GROUP_AUTHORIZATION_FAILED' ? 'group' : 'fetch');
}

/** A small pool: at most `limit` of the tasks run at once. */
async function pool<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

/** The consumer group a principal may use (its prefix, or its literal group), or one it may not. */
function groupsFor(principal: string): { name: (i: number) => string; concurrent: boolean } {
  const row = rows.find((r) => r.principal === principal && r.resourceType === 'GROUP' && r.operation === 'READ');
  if (row?.patternType === 'PREFIXED') return { name: (i) => `${row.resourceName}matrix-${runId}-${i}`, concurrent: true };
  if (row) return { name: () => row.resourceName, concurrent: false };
  return { name: (i) => `${principal}.matrix-${runId}-${i}`, concurrent: true };
}

async function describeRow(config: KafkaConfig): Promise<Array<Cell['outcome']>> {
  const admin = new Kafka(config).admin();
  await admin.connect();
  try {
    const out: Array<Cell['outcome']> = [];
    for (const topic of topicNames) {
      try {
        await admin.fetchTopicMetadata({ topics: [topic] });
        out.push('allowed');
      } catch (err) {
        out.push(outcomeOf(err, 'metadata'));
      }
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

async function produceRow(config: KafkaConfig): Promise<Array<Cell['outcome']>> {
  const producer = new Kafka(config).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const out: Array<Cell['outcome']> = [];
    for (const topic of topicNames) {
      try {
        await producer.send({ topic, acks: -1, messages: [{ key: MARKER_KEY, value: `matrix produce ${runId}`, headers: { 'matrix-run': runId } }] });
        out.push('allowed');
      } catch (err) {
        out.push(outcomeOf(err, 'produce'));
      }
    }
    return out;
  } finally {
    await producer.disconnect();
  }
}

/** One consumer on one topic: allowed once it reads a record (the admin wrote one to every topic). */
async function consumeCell(config: KafkaConfig, topic: string, groupId: string): Promise<Cell['outcome']> {
  const consumer = new Kafka(config).consumer({
    groupId,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 100,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    retry: { ...matrixRetry, restartOnFailure: async () => false },
  });
  try {
    return await new Promise<Cell['outcome']>((resolve) => {
      const timer = setTimeout(() => resolve({ error: `no record and no refusal within ${CONSUME_TIMEOUT_MS} ms` }), CONSUME_TIMEOUT_MS);
      const done = (o: Cell['outcome']) => {
        clearTimeout(timer);
        resolve(o);
      };
      consumer.on(consumer.events.CRASH, async (e) => done(await crashOutcome(e.payload.error, groupId)));
      void (async () => {
        try {
          await consumer.connect();
        } catch (err) {
          return done({ error: `connect: ${errorType(err)}` });
        }
        try {
          await consumer.subscribe({ topics: [topic], fromBeginning: true });
        } catch (err) {
          return done(outcomeOf(err, 'metadata'));
        }
        try {
          await consumer.run({ autoCommit: false, eachMessage: async () => done('allowed') });
        } catch (err) {
          done(await crashOutcome(err, groupId));
        }
      })();
    });
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

async function consumeRow(config: KafkaConfig, principal: string): Promise<Array<Cell['outcome']>> {
  const g = groupsFor(principal);
  const tasks = topicNames.map((topic, i) => () => consumeCell(config, topic, g.name(i)));
  return pool(g.concurrent ? 4 : 1, tasks);
}

/** How long each principal's row of each kind took: the slowest are printed. */
const durations: Array<{ what: string; ms: number }> = [];

/** Authorization errors are not retried by kafkajs; a coordinator still loading is, a little. */
const matrixRetry: KafkaConfig['retry'] = { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 };

async function matrix(via: Cell['via'], who: string[], configOf: (p: string) => KafkaConfig): Promise<Cell[]> {
  const perPrincipal = await pool(
    12,
    who.map((principal) => async () => {
      const config = { ...configOf(principal), retry: matrixRetry };
      const t0 = Date.now();
      const timed = async <T>(kind: Kind, p: Promise<T>): Promise<T> => {
        const r = await p;
        durations.push({ what: `${via} ${principal} ${kind}`, ms: Date.now() - t0 });
        return r;
      };
      const [describe, produce, consume] = await Promise.all([
        timed('describe', describeRow(config)),
        timed('produce', produceRow(config)),
        timed('consume', consumeRow(config, principal)),
      ]);
      const cells: Cell[] = [];
      for (const [kind, outcomes] of [['describe', describe], ['produce', produce], ['consume', consume]] as const) {
        outcomes.forEach((outcome, i) => {
          const topic = topicNames[i]!;
          cells.push({ via, principal, topic, kind, expected: allowedOnTopic(rows, principal, topic, operationOf[kind]), outcome });
        });
      }
      return cells;
    }),
  );
  return perPrincipal.flat();
}

function summary(label: string, cells: Cell[]): string[] {
  const lines = [`${label}: ${new Set(cells.map((c) => c.principal)).size} principals × ${topicNames.length} topics`];
  for (const kind of ['describe', 'produce', 'consume'] as const) {
    const of = cells.filter((c) => c.kind === kind);
    const reasons = new Map<string, number>();
    for (const c of of) {
      const r = refusedBy(c);
      if (r) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    const errors = of.filter((c) => typeof c.outcome === 'object' && 'error' in c.outcome).length;
    lines.push(
      `  ${kind.padEnd(8)} ${of.length} cells: ${of.filter((c) => c.outcome === 'allowed').length} allowed, ` +
        `${of.filter((c) => refusedBy(c)).length} refused (${[...reasons].map(([r, n]) => `${r}: ${n}`).join(', ')})` +
        (errors > 0 ? `, ${errors} neither` : ''),
    );
  }
  return lines;
}

const cellText = (c: Cell): string =>
  `${c.via} ${c.principal} ${c.kind} ${c.topic}: table says ${c.expected ? 'allowed' : 'refused'}, broker ${c.outcome === 'allowed' ? 'allowed' : JSON.stringify(c.outcome)}`;

const adminConfig = (): KafkaConfig => saslConfig(brokers, security, access.admin);

describe('the broker enforces the access table', () => {
  let cells: Cell[] = [];
  const started = Date.now();

  const probeAdmin = new Kafka(adminConfig()).admin();

  beforeAll(async () => {
    await probeAdmin.connect();
    // The first group of a new broker creates __consumer_offsets: wait until groups are served.
    const warm = Date.now();
    for (let i = 0; ; i += 1) {
      try {
        await probeAdmin.describeGroups([`broker-trust-warm-up-${i % 7}`]);
        if (i >= 6) break;
      } catch (err) {
        if (Date.now() - warm > 30_000) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    coordinatorProbe = async (groupId) => {
      try {
        await probeAdmin.describeGroups([groupId]);
        return true;
      } catch {
        return false;
      }
    };
    // A record on every topic, so that a consumer allowed to read has something to read at once.
    const producer = new Kafka(adminConfig()).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.sendBatch({
      acks: -1,
      topicMessages: topicNames.map((topic) => ({ topic, messages: [{ key: MARKER_KEY, value: `matrix marker ${runId}`, partition: 0, headers: { 'matrix-run': runId } }] })),
    });
    await producer.disconnect();
  });

  afterAll(async () => {
    // The matrix's records are not CloudEvents: delete every record it may have written, so that
    // no bridge or reader of a later test file sees one (the engine's groups were joined, never committed).
    try {
      for (const topic of topicNames) {
        // One topic at a time: kafkajs finds the partitions' leaders in the metadata it fetched last.
        const [meta] = (await probeAdmin.fetchTopicMetadata({ topics: [topic] })).topics;
        await probeAdmin.deleteTopicRecords({ topic, partitions: meta!.partitions.map((p) => ({ partition: p.partitionId, offset: '-1' })) });
      }
    } finally {
      await probeAdmin.disconnect();
    }
  });

  it('every principal, by password, gets exactly its cells of the table', async () => {
    cells = await matrix('password', principals, (p) => saslConfig(brokers, security, p));
    const slowest = [...durations].sort((a, b) => b.ms - a.ms).slice(0, 3).map((d) => `${d.what} ${(d.ms / 1000).toFixed(1)} s`);
    console.log([...summary('by password (SCRAM-SHA-512 over TLS)', cells), `  ${((Date.now() - started) / 1000).toFixed(1)} s in all; slowest rows: ${slowest.join(', ')}`].join('\n'));
    expect(cells.filter(differs).map(cellText)).toEqual([]);
    // The table is not trivially empty or full.
    expect(cells.filter((c) => c.kind === 'produce' && c.outcome === 'allowed').length).toBeGreaterThan(principals.length);
    expect(cells.filter((c) => c.kind === 'consume' && c.outcome === 'allowed').length).toBeGreaterThan(principals.length / 2);
  });

  it('by certificate on the mTLS listener, the same cells for the same principal', async () => {
    expect(security.mtlsBrokers, 'the test stack has an mTLS listener').toBeTruthy();
    const byCert = await matrix('certificate', certPrincipals, (p) => certConfig(security, p));
    console.log(summary('by certificate (mTLS, CN=<principal>)', byCert).join('\n'));
    expect(byCert.filter(differs).map(cellText)).toEqual([]);
    const cell = (principal: string, kind: Kind, topic: string) => byCert.find((c) => c.principal === principal && c.kind === kind && c.topic === topic)?.outcome;
    expect(cell('fia', 'produce', 'referrals.intake.fia')).toBe('allowed');
    expect(refusedBy({ outcome: cell('fia', 'produce', 'referrals.intake.nccia') } as Cell)).toMatch(/AUTHORIZATION_FAILED/);
    expect(cell('fia', 'consume', 'referrals.notify.fia')).toBe('allowed');
    expect(refusedBy({ outcome: cell('fia', 'consume', 'referrals.notify.nccia') } as Cell)).toMatch(/AUTHORIZATION_FAILED/);
  });

  it('a producer naming an unknown topic does not create it, not even as the admin', async () => {
    const unknown = `referrals.matrix-unknown.${runId}`;
    const results: string[] = [];
    for (const config of [adminConfig(), saslConfig(brokers, security, 'fia')]) {
      const producer = new Kafka(config).producer({ allowAutoTopicCreation: true, retry: { retries: 0 } });
      await producer.connect();
      try {
        await producer.send({ topic: unknown, messages: [{ value: 'x' }] });
        results.push('sent');
      } catch (err) {
        results.push(errorType(err));
      } finally {
        await producer.disconnect();
      }
    }
    console.log(`unknown topic ${unknown}: admin ${results[0]}, fia ${results[1]}`);
    expect(results[0]).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(results[1]).toBe('TOPIC_AUTHORIZATION_FAILED');
    const admin = new Kafka(adminConfig()).admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(unknown);
    } finally {
      await admin.disconnect();
    }
  });

  it('clients that cannot prove who they are, or do not trust the broker, get nothing', async () => {
    const ca = caPem(security);
    const fiaPassword = passwordOf(security, 'fia');
    const controller = `127.0.0.1:${stackEnv['KAFKA_CONTROLLER_PORT']}`;
    const reserved = Object.keys(readCredentials(security)).filter((k) => k.startsWith('_'));
    const controllerUser = reserved.find((k) => k.includes('controller'));
    expect(controllerUser, 'the credentials file names the controller user').toBeTruthy();
    const other = otherCa();
    const base = { clientId: 'broker-trust-outsider', ...quickClient };
    const attempts: Array<[string, KafkaConfig]> = [
      ['plaintext to the SASL_SSL listener', { ...base, brokers: [brokers] }],
      ['TLS without SASL', { ...base, brokers: [brokers], ssl: { ca: [ca] } }],
      ['SCRAM with a wrong password', { ...base, brokers: [brokers], ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-512', username: 'fia', password: `${fiaPassword}x` } }],
      ['SCRAM as a user the broker does not know', { ...base, brokers: [brokers], ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-512', username: 'nobody', password: fiaPassword } }],
      ['SCRAM-SHA-256 (not enabled)', { ...base, brokers: [brokers], ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-256', username: 'fia', password: fiaPassword } }],
      ["PLAIN with the controller's password on the client listener", { ...base, brokers: [brokers], ssl: { ca: [ca] }, sasl: { mechanism: 'plain', username: controllerUser!, password: passwordOf(security, controllerUser!) } }],
      ['right password, but not trusting the local CA', { ...base, brokers: [brokers], ssl: { rejectUnauthorized: true }, sasl: { mechanism: 'scram-sha-512', username: 'fia', password: fiaPassword } }],
      ['right password, but the certificate checked for another host name', { ...base, brokers: [brokers], ssl: { ca: [ca], servername: 'broker.example.org' }, sasl: { mechanism: 'scram-sha-512', username: 'fia', password: fiaPassword } }],
      ['the admin by SCRAM on the controller listener', { ...base, brokers: [controller], ssl: { ca: [ca] }, sasl: { mechanism: 'scram-sha-512', username: access.admin, password: passwordOf(security, access.admin) } }],
      ['TLS without SASL on the controller listener', { ...base, brokers: [controller], ssl: { ca: [ca] } }],
      ['mTLS listener without a client certificate', { ...base, brokers: [security.mtlsBrokers!], ssl: { ca: [ca] } }],
      ['mTLS listener, a certificate CN=admin from another CA', { ...base, brokers: [security.mtlsBrokers!], ssl: { ca: [ca], cert: other.cert, key: other.key } }],
    ];
    const outcomes = await Promise.all(
      attempts.map(async ([label, config]) => {
        const admin = new Kafka(config).admin();
        try {
          await admin.connect();
          const listed = await admin.listTopics();
          return { label, refused: false, how: `listed ${listed.length} topics` };
        } catch (err) {
          return { label, refused: true, how: errorType(err).slice(0, 120) };
        } finally {
          await admin.disconnect().catch(() => {});
        }
      }),
    );
    other.cleanup();
    console.log(
      [`unauthenticated or untrusting clients: ${outcomes.length} attempts, ${outcomes.filter((o) => o.refused).length} refused`, ...outcomes.map((o) => `  ${o.refused ? 'refused' : 'LET IN '} ${o.label}: ${o.how}`)].join('\n'),
    );
    expect(outcomes.filter((o) => !o.refused).map((o) => `${o.label}: ${o.how}`)).toEqual([]);
  });
});

/** A CA the broker does not know, and a client certificate CN=admin it signed. */
function otherCa(): { cert: string; key: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'broker-trust-'));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=not the stack CA');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'admin.key', '-out', 'admin.csr', '-subj', `/CN=${access.admin}`);
  run('x509', '-req', '-in', 'admin.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '1', '-days', '1', '-out', 'admin.pem');
  return {
    cert: readFileSync(join(dir, 'admin.pem'), 'utf8'),
    key: readFileSync(join(dir, 'admin.key'), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

