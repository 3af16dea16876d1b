/**
 * The authority matrix over Kafka: every agency (each on its own actions topic, as its own broker
 * principal would send) × role, and two partner organisations, × every action, answered as
 * config/policy.json's authority table says (test/support/authority-cells.ts computes it from the
 * file), through the real actions bridge, Temporal server and broker. Over Kafka, roles that cross
 * agencies (OPERATOR, ADMIN) are refused (ACTOR_MISMATCH: they act through the HTTP API), and a
 * district or provincial committee, one broker principal for every territory, has no jurisdiction:
 * it is a party to no referral. Prints the counts.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeyRing } from '../../codec/aes-gcm-codec.js';
import { allNotifyTopics, loadKafkaAccess } from '../../config/kafka-access.js';
import { encodeCloudEvent } from '../../messaging/cloudevents.js';
import type { OutboundRecord } from '../../messaging/records.js';
import type { Actor } from '../../workflows/actions.js';
import { bodies, expected, label, openMatrixFixtures, probes, ROLES, table, type Who } from '../support/authority-cells.js';
import { prefixedTopics, startTestEngine, type TestEngine } from '../support/engine-harness.js';
import { uniqueId } from '../support/fixtures.js';
import { eventually, KafkaHarness, type ReadRecord } from '../support/kafka-harness.js';
import { actionsTopicOf } from '../support/test-kafka.js';

const temporalAddress = inject('temporalAddress');
const brokers = inject('kafkaBrokers');
const run = uniqueId('authz');
const topics = prefixedTopics(run);
const notifyTopics = allNotifyTopics(loadKafkaAccess(), topics);
const taskQueue = `${run}-queue`;
const keyRing = new KeyRing('authz', { authz: randomBytes(32) });

/** Over Kafka a committee is its broker principal: no jurisdiction. */
const senders: Who[] = [
  ...[...new Set(bodies.map((b) => b.agency))].flatMap((agency) => ROLES.map((role): Who => ({ id: `${agency.toLowerCase()}-${role}`, agency, role }))),
  { id: 'iom-partner', agency: 'PARTNER', role: 'partner', organisation: 'IOM' },
  { id: 'ssdo-partner', agency: 'PARTNER', role: 'partner', organisation: 'SSDO' },
];
const actorOf = (w: Who): Actor => ({ actorId: w.id, agency: w.agency, role: w.role.toUpperCase() as Actor['role'], ...(w.organisation ? { organisation: w.organisation } : {}) });

describe('authority matrix over Kafka through the real actions bridge, Temporal server and broker', () => {
  const harness = new KafkaHarness(brokers);
  let engine: TestEngine;
  let client: Client;
  let notifications: ReadRecord[];

  beforeAll(async () => {
    await harness.createEngineTopics(topics);
    notifications = await harness.collect(notifyTopics);
    engine = await startTestEngine({ temporalAddress, taskQueue, topics, keyRing, kafka: { brokers, run }, actionsBridge: true });
    client = engine.client;
  });
  afterAll(async () => {
    await engine?.stop();
    await harness.close();
  });

  const answerOf = (actionId: string) =>
    notifications.find((n) => n.headers['ce_type']?.startsWith('referral.action.') && (JSON.parse(n.value!.toString()) as { actionId?: string }).actionId === actionId);
  function record(who: Who, referralId: string, action: string, body: Record<string, unknown>): OutboundRecord {
    const id = uniqueId(`mx-${action}`);
    return encodeCloudEvent(actionsTopicOf(topics, who.organisation ?? who.agency), {
      id,
      source: 'urn:agency:test',
      type: `referral.action.${action}.v1`,
      subject: referralId,
      time: new Date().toISOString(),
      data: { referralId, ...body, actor: actorOf(who) },
    });
  }
  /** allowed: applied, or past the authority check and stopped by the state; refused: NOT_A_PARTY, FORBIDDEN, ACTOR_MISMATCH. */
  function outcome(answer: ReadRecord): string {
    const data = JSON.parse(answer.value!.toString()) as { outcome: string; reason?: { code: string } };
    if (data.outcome === 'ACCEPTED' || data.reason?.code === 'INVALID_TRANSITION') return 'allowed';
    if (['NOT_A_PARTY', 'FORBIDDEN', 'ACTOR_MISMATCH'].includes(data.reason?.code ?? '')) return 'refused';
    return `answered ${data.reason?.code ?? data.outcome}`;
  }

  it('answers every cell as the policy table says, refusing every other', { timeout: 900_000 }, async () => {
    const { referralOf, renewWithdrawable } = await openMatrixFixtures(client, taskQueue);
    expect(Object.keys(probes).sort()).toEqual(Object.keys(table).sort());

    const want = (who: Who, action: string) => who.role !== 'operator' && who.role !== 'admin' && expected(who, probes[action]!.scenario, action);
    const counts = { allowed: 0, refused: 0 };
    const wrong: string[] = [];
    const check = (who: Who, action: string, answer: ReadRecord) => {
      const w = want(who, action);
      counts[w ? 'allowed' : 'refused'] += 1;
      const got = outcome(answer);
      if (got !== (w ? 'allowed' : 'refused')) wrong.push(`${action} by ${who.id} (${label(who, probes[action]!.scenario, action)}): expected ${w ? 'allowed' : 'refused'}, got ${got}: ${answer.value!.toString().slice(0, 300)}`);
    };
    for (const [action, probe] of Object.entries(probes)) {
      if (action === 'withdraw') {
        // One at a time: an allowed withdrawal ends its referral, and the next cell gets a fresh one.
        for (const who of senders) {
          const r = record(who, referralOf(probe.on), action, probe.body);
          await harness.produce([r]);
          const answer = await eventually(() => answerOf(r.headers['ce_id']!), (a) => a !== undefined, 60_000, `answer to ${action} by ${who.id}`);
          check(who, action, answer!);
          if (JSON.parse(answer!.value!.toString()).outcome === 'ACCEPTED') await renewWithdrawable();
        }
        continue;
      }
      const sent = senders.map((who) => ({ who, r: record(who, referralOf(probe.on), action, probe.body) }));
      await harness.produce(sent.map((s) => s.r));
      await eventually(() => sent.filter((s) => answerOf(s.r.headers['ce_id']!) === undefined), (missing) => missing.length === 0, 120_000, `answers to every ${action}`);
      for (const { who, r } of sent) check(who, action, answerOf(r.headers['ce_id']!)!);
    }
    console.log(`authority matrix over Kafka: ${counts.allowed + counts.refused} action cells (${Object.keys(probes).length} actions x ${senders.length} senders): ${counts.allowed} allowed, ${counts.refused} refused`);
    expect(wrong).toEqual([]);
    expect(counts.allowed).toBeGreaterThan(30);
  });
});
