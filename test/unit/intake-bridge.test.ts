/**
 * The intake handler (bridge/intake.ts) over a fake Temporal client and an in-memory publisher:
 * the topic an intake came on says which agency reports it. One naming another source agency
 * starts nothing: it is dead-lettered ACTOR_MISMATCH and answered on the sender's own topic.
 * The real server and broker are in test/integration/skeleton.test.ts.
 */
import { describe, it, expect } from 'vitest';
import { pino } from 'pino';
import type { Client } from '@temporalio/client';
import { createDeadLetters } from '../../bridge/dead-letters.js';
import { createIntakeHandler } from '../../bridge/intake.js';
import { senderDirectory } from '../../bridge/senders.js';
import type { Topics } from '../../config/env.js';
import { loadKafkaAccess } from '../../config/kafka-access.js';
import type { RecordContext } from '../../messaging/kafka.js';
import type { InboundRecord } from '../../messaging/records.js';
import { intakeRecord } from '../../scripts/intake-event.js';
import type { ReferralDetectedV1 } from '../../schemas/intake.js';
import { detected, shippedPolicy } from '../support/fixtures.js';
import { RecordingPublisher } from '../support/recording-publisher.js';
import { intakeTopicOf, notifyTopicOf } from '../support/test-kafka.js';

const topics: Topics = { intake: 'in', actions: 'actions', deadLetter: 'dlq', events: 'events', notifyPrefix: 'notify.' };
const ctx: RecordContext = { heartbeat: async () => {}, isStopping: () => false };
const access = loadKafkaAccess();

function setup(options: { sharedTopics?: boolean } = {}) {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(s) });
  const publisher = new RecordingPublisher();
  const starts: Array<{ workflowId: string }> = [];
  const client = { workflow: { start: async (_type: string, o: { workflowId: string }) => void starts.push({ workflowId: o.workflowId }) } } as unknown as Client;
  const handle = createIntakeHandler({
    client,
    taskQueue: 'referrals',
    policy: shippedPolicy(),
    deadLetters: createDeadLetters(publisher, topics.deadLetter, logger),
    logger,
    senders: senderDirectory(access, topics, { sharedTopics: options.sharedTopics ?? false }),
    publisher,
    source: 'urn:test',
  });
  return { handle, publisher, starts, lines };
}

let offset = 0;
function inbound(topic: string, referral: ReferralDetectedV1): InboundRecord {
  const out = intakeRecord(topic, referral, 'urn:agency:test');
  return { topic, partition: 0, offset: String(++offset), key: Buffer.from(out.key ?? ''), value: Buffer.from(out.value as string), headers: out.headers };
}

describe('createIntakeHandler: who reports', () => {
  it('starts the referral when its source agency is the topic\'s agency', async () => {
    const { handle, publisher, starts } = setup();
    const referral = detected({ sourceAgency: 'NCCIA' });
    expect(await handle(inbound(intakeTopicOf(topics, 'NCCIA'), referral), ctx)).toBe('started');
    expect(starts).toEqual([{ workflowId: `referral-${referral.referralId}` }]);
    expect(publisher.records).toHaveLength(0);
  });

  it('refuses an intake naming another source agency: dead-lettered ACTOR_MISMATCH, answered on the sender\'s topic, nothing started', async () => {
    const { handle, publisher, starts, lines } = setup();
    const referral = detected({ sourceAgency: 'FIA' });
    const r = inbound(intakeTopicOf(topics, 'NCCIA'), referral);
    expect(await handle(r, ctx)).toBe('dead-lettered');
    expect(starts).toHaveLength(0);

    const dead = publisher.records.filter((x) => x.topic === topics.deadLetter);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.headers['dlq-reason']).toBe('ACTOR_MISMATCH');
    expect(dead[0]!.headers['dlq-source-topic']).toBe(r.topic);
    expect(Buffer.compare(dead[0]!.value as Buffer, r.value!)).toBe(0);

    const answers = publisher.records.filter((x) => x.topic.startsWith(topics.notifyPrefix));
    expect(answers.map((a) => a.topic)).toEqual([notifyTopicOf(topics, 'NCCIA')]);
    expect(answers[0]!.headers).toMatchObject({ ce_type: 'referral.action.rejected.v1', ce_id: `${r.headers['ce_id']}/answer`, ce_subject: referral.referralId });
    expect(JSON.parse(String(answers[0]!.value))).toMatchObject({
      referralId: referral.referralId,
      actionId: r.headers['ce_id'],
      action: 'referral.detected.v1',
      outcome: 'REJECTED',
      reason: { code: 'ACTOR_MISMATCH', field: 'data.sourceAgency' },
    });
    // The answer and the log carry no person's data.
    const name = referral.persons[0]!.name!;
    expect(String(answers[0]!.value)).not.toContain(name);
    expect(lines.join('\n')).not.toContain(name);
  });

  it('refuses a valid intake from a topic that is no sender\'s (the shared topic not opted in) without starting it', async () => {
    const { handle, publisher, starts } = setup();
    expect(await handle(inbound(topics.intake, detected()), ctx)).toBe('dead-lettered');
    expect(starts).toHaveLength(0);
    expect(publisher.records.map((x) => [x.topic, x.headers['dlq-reason']])).toEqual([[topics.deadLetter, 'ACTOR_MISMATCH']]);
  });

  it('on the trusted shared topic (KAFKA_SHARED_TOPICS), starts the referral whatever agency it names', async () => {
    const { handle, publisher, starts } = setup({ sharedTopics: true });
    const referral = detected({ sourceAgency: 'PTA' });
    expect(await handle(inbound(topics.intake, referral), ctx)).toBe('started');
    expect(starts).toEqual([{ workflowId: `referral-${referral.referralId}` }]);
    expect(publisher.records).toHaveLength(0);
  });
});
