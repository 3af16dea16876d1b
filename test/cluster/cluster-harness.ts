import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { inject } from 'vitest';
import { senderTopics } from '../../config/kafka-access.js';
import type { Topics } from '../../config/env.js';
import { createDataConverter } from '../../codec/data-converter.js';
import { resolveTemporalConnection } from '../../config/temporal-connection.js';
import { loadKeyRing } from '../../codec/keys.js';
import { encodeCloudEvent } from '../../messaging/cloudevents.js';
import type { OutboundRecord } from '../../messaging/records.js';
import { intakeRecord } from '../../scripts/intake-event.js';
import type { ReferralDetectedV1 } from '../../schemas/intake.js';
import { uniqueId } from '../support/fixtures.js';
import { eventually, KafkaHarness, type ReadRecord } from '../support/kafka-harness.js';
import { repoRoot } from '../support/stack-paths.js';
import { kafkajsAuth, senderOf } from '../support/test-kafka.js';

const execFileAsync = promisify(execFile);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cluster's engines run with the shipped topic names (config/env.ts defaults). */
export const topics: Topics = {
  intake: 'referrals.intake',
  actions: 'referrals.actions',
  deadLetter: 'referrals.dead-letter',
  events: 'referrals.events',
  notifyPrefix: 'referrals.notify.',
};
export const lead = { actorId: 'fia-officer-7', agency: 'FIA', role: 'OFFICER' } as const;
/** A cross-border trafficking referral detected by FIA is routed to FIA (lead), SWD and MOI. */
export const routedTo = ['fia', 'moi', 'swd'];

export function clusterInfo() {
  return inject('cluster');
}

/** `bash scripts/cluster.sh <args>` on the test cluster. */
export async function cluster(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('bash', [`${repoRoot}scripts/cluster.sh`, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...clusterInfo().env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** The pid of a component the cluster started (its pid file). */
export function pidOf(component: string): number {
  const pid = Number(readFileSync(`${clusterInfo().env['STACK_DIR']}/pids/${component}.pid`, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no pid for ${component}`);
  return pid;
}

export function brokers(): string {
  return clusterInfo().endpoints['KAFKA_BROKERS']!;
}

export async function temporalClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const e = clusterInfo().endpoints;
  // The cluster's own variables: mTLS too when it runs with CLUSTER_TEMPORAL_TLS=1.
  const tls = e['TEMPORAL_TLS_CA_FILE'] ? { caFile: e['TEMPORAL_TLS_CA_FILE'], certFile: e['TEMPORAL_TLS_CERT_FILE']!, keyFile: e['TEMPORAL_TLS_KEY_FILE']! } : undefined;
  const connection = await Connection.connect(resolveTemporalConnection({ address: e['TEMPORAL_ADDRESS']!, ...(tls ? { tls } : {}) }));
  const keyRing = loadKeyRing({ source: 'PAYLOAD_KEYS_FILE', file: e['PAYLOAD_KEYS_FILE']!, isDefault: false });
  const client = new Client({ connection, namespace: 'default', dataConverter: createDataConverter(keyRing) });
  return { client, close: () => connection.close() };
}

/**
 * Producing as an agency would: its own principal, acks from all in-sync replicas, and enough
 * retries to ride out a leader moving away from a killed broker.
 */
export class AgencyProducer {
  private readonly producer: Producer;
  constructor(principal: string) {
    const kafka = new Kafka({
      clientId: `cluster-test-${principal}`,
      brokers: brokers().split(','),
      logLevel: logLevel.NOTHING,
      retry: { retries: 12, initialRetryTime: 300, maxRetryTime: 5_000 },
      ...kafkajsAuth(principal),
    });
    this.producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  }
  connect() {
    return this.producer.connect();
  }
  async send(records: OutboundRecord[]): Promise<void> {
    for (const r of records) await this.producer.send({ topic: r.topic, acks: -1, messages: [{ key: r.key, value: r.value, headers: r.headers }] });
  }
  disconnect() {
    return this.producer.disconnect();
  }
}

export const intakeTopic = (agency: string) => senderTopics(topics, senderOf(agency)).intake!;
export const intake = (r: ReferralDetectedV1) => intakeRecord(intakeTopic(r.sourceAgency), r, `urn:agency:${r.sourceAgency.toLowerCase()}`);
export const acknowledge = (referralId: string): OutboundRecord =>
  encodeCloudEvent(senderTopics(topics, senderOf('FIA')).actions, {
    id: uniqueId('cl-ack'),
    source: 'urn:agency:fia',
    type: 'referral.action.acknowledge.v1',
    subject: referralId,
    time: new Date().toISOString(),
    data: { referralId, actor: lead },
  });
export const idOf = (r: OutboundRecord) => r.headers['ce_id']!;

/** Everything on the notification topics of FIA, SWD and MOI, from the beginning, as it arrives. */
export async function collectNotifications(): Promise<{ records: ReadRecord[]; close: () => Promise<void> }> {
  const harness = new KafkaHarness(brokers(), kafkajsAuth('admin'));
  const records = await harness.collect(routedTo.map((a) => `${topics.notifyPrefix}${a}`));
  return { records, close: () => harness.close() };
}

/** Ids of the referrals whose workflow exists. */
export async function startedCount(client: Client, referrals: ReferralDetectedV1[]): Promise<number> {
  const found = await Promise.all(
    referrals.map((r) =>
      client.workflow
        .getHandle(`referral-${r.referralId}`)
        .describe()
        .then(
          () => 1,
          () => 0,
        ),
    ),
  );
  return found.reduce<number>((a, b) => a + b, 0);
}

/** Runs of each referral's workflow in visibility (PostgreSQL): each must be exactly 1. */
export async function runCounts(client: Client, referrals: ReferralDetectedV1[]): Promise<number[]> {
  const counts = new Map(referrals.map((r) => [`referral-${r.referralId}`, 0]));
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'referralWorkflow'` })) {
    if (counts.has(wf.workflowId)) counts.set(wf.workflowId, counts.get(wf.workflowId)! + 1);
  }
  return [...counts.values()];
}

/**
 * Per referral, the routed notifications by event id: exactly one event for each of FIA, SWD and
 * MOI (copies redelivered by Kafka carry the same id and bytes, and are counted apart).
 */
export function routedReport(records: ReadRecord[], referrals: ReferralDetectedV1[]) {
  const ids = new Set(referrals.map((r) => r.referralId));
  const byId = new Map<string, ReadRecord[]>();
  for (const n of records) {
    if (n.headers['ce_type'] !== 'referral.routed.v1' || n.key === null || !ids.has(n.key)) continue;
    byId.set(n.headers['ce_id']!, [...(byId.get(n.headers['ce_id']!) ?? []), n]);
  }
  const perReferral = new Map<string, string[]>(referrals.map((r) => [r.referralId, []]));
  let copies = 0;
  let differing = 0;
  for (const [, got] of byId) {
    perReferral.get(got[0]!.key!)!.push(got[0]!.topic.slice(topics.notifyPrefix.length));
    copies += got.length - 1;
    for (const c of got) if (c.topic !== got[0]!.topic || !c.value!.equals(got[0]!.value!)) differing += 1;
  }
  const complete = [...perReferral.values()].filter((t) => t.length === 3).length;
  const wrong = [...perReferral].filter(([, t]) => t.length > 0 && JSON.stringify([...t].sort()) !== JSON.stringify(routedTo));
  return { events: byId.size, complete, copies, differing, wrong, perReferral };
}

/** Answers to actions by the action's id (`<action id>/answer` on the lead's topic). */
export function answers(records: ReadRecord[]): Map<string, ReadRecord[]> {
  const by = new Map<string, ReadRecord[]>();
  for (const n of records) {
    const id = n.headers['ce_id'];
    if (!n.headers['ce_type']?.startsWith('referral.action.') || !id?.endsWith('/answer')) continue;
    const action = id.slice(0, -'/answer'.length);
    by.set(action, [...(by.get(action) ?? []), n]);
  }
  return by;
}

/** Members of the engine's consumer groups (intake, actions). */
export async function groupMembers(): Promise<{ intake: number; actions: number }> {
  const admin = new Kafka({ clientId: 'cluster-test-groups', brokers: brokers().split(','), logLevel: logLevel.NOTHING, ...kafkajsAuth('admin') }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups(['referral-engine-intake', 'referral-engine-actions']);
    const of = (id: string) => {
      const g = groups.find((x) => x.groupId === id);
      return g && g.state === 'Stable' ? g.members.length : -1;
    };
    return { intake: of('referral-engine-intake'), actions: of('referral-engine-actions') };
  } finally {
    await admin.disconnect();
  }
}

export { eventually };
